"""Built-in algorithms: training programs that follow SageMaker's container contract
(``python -m tunelab.algorithms.<module> train``), each with metadata in the shape of
SageMaker's ``TrainingSpecification``.

The metadata (:mod:`.spec`, :mod:`.catalog`), the image mapping (:mod:`.images`) and
the definition checks (:mod:`.validation`) are pure and light: the service and the
executor import them. The programs (:mod:`.xgboost`, :mod:`.linear_learner`,
:mod:`.knn`, :mod:`.lightgbm`) import numpy and their libraries, and run only in
training job processes.
"""
