#!/bin/sh
# A cheap training program: sleeps $SM_HP_SECONDS (default 1) and prints its loss,
# the hyperparameter x (SageMaker's training toolkit variables SM_HP_<NAME>).
sleep "${SM_HP_SECONDS:-1}"
echo "loss=${SM_HP_X:-0.5};"
