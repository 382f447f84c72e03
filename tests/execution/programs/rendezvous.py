"""Hosts of a distributed job meet by name: ``algo-1`` listens on the hyperparameter
``port`` of the address ``algo-1`` resolves to; every other host connects to ``algo-1``
by name, sends "hello from <host>" and reads the reply.

Each host first prints ``host {json}``: SM_CURRENT_HOST, SM_HOSTS, resourceconfig.json's
current_host and hosts, and the address its own name resolves to. ``algo-1`` writes
the messages it received, one a line, to ``model/received.txt`` and prints
``received: <message>`` for each; the others print ``reply: <reply>``. With
``outside`` (``host:port``), each host also tries a connection there and prints
``outside: connected`` or ``outside: failed <error>``. Last, each host prints its
metric line ``objective=<k>.0`` (k from algo-k). With ``resolve=env`` host names are
looked up in TUNELAB_HOST_ADDRESSES instead of the resolver. Any failure to meet
exits 1.
"""

import json
import os
import socket
import sys
import time

with open(os.path.join(os.environ["SM_INPUT_CONFIG_DIR"], "hyperparameters.json")) as f:
    hp = json.load(f)
with open(os.path.join(os.environ["SM_INPUT_CONFIG_DIR"], "resourceconfig.json")) as f:
    resources = json.load(f)

me = os.environ["SM_CURRENT_HOST"]
hosts = json.loads(os.environ["SM_HOSTS"])
port = int(hp["port"])
deadline = time.monotonic() + 10


def address_of(host: str) -> str:
    if hp.get("resolve") == "env":
        return json.loads(os.environ["TUNELAB_HOST_ADDRESSES"])[host]
    return socket.gethostbyname(host)


seen = {
    "SM_CURRENT_HOST": me,
    "SM_HOSTS": hosts,
    "current_host": resources["current_host"],
    "hosts": resources["hosts"],
    "address": address_of(me),
}
print("host " + json.dumps(seen), flush=True)

if "outside" in hp:
    where, outside_port = hp["outside"].rsplit(":", 1)
    try:
        with socket.create_connection((where, int(outside_port)), timeout=3):
            print("outside: connected", flush=True)
    except OSError as exc:
        print(f"outside: failed {exc}", flush=True)

if me == hosts[0]:
    with socket.socket() as server:
        server.bind((address_of(me), port))
        server.listen()
        server.settimeout(10)
        received = []
        for _ in hosts[1:]:
            conn, _peer = server.accept()
            with conn:
                conn.settimeout(10)
                message = conn.makefile("r").readline().strip()
                conn.sendall(f"ack from {me}\n".encode())
            print(f"received: {message}", flush=True)
            received.append(message)
    with open(os.path.join(os.environ["SM_MODEL_DIR"], "received.txt"), "w") as f:
        f.write("".join(m + "\n" for m in received))
else:
    while True:
        try:
            conn = socket.create_connection((address_of(hosts[0]), port), timeout=3)
            break
        except OSError as exc:  # algo-1 may not listen yet
            if time.monotonic() > deadline:
                print(f"could not reach {hosts[0]}: {exc}", flush=True)
                sys.exit(1)
            time.sleep(0.05)
    with conn:
        conn.sendall(f"hello from {me}\n".encode())
        print("reply: " + conn.makefile("r").readline().strip(), flush=True)

print(f"objective={hosts.index(me) + 1}.0", flush=True)
