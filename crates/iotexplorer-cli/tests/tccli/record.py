#!/usr/bin/env python3
"""Records what tccli sends and prints for each case of cases.json, into fixtures.json.

tccli runs for real, with its one network call replaced: the request it would send is
kept (headers and body), and the case's canned answers are returned in turn. Each case
runs in a fresh HOME holding the case's ~/.tccli files, with only the case's variables.

    python3 record.py [--check] [--tccli PATH_TO_PYTHON_WITH_TCCLI]

--check compares with the committed fixtures.json instead of writing it (exit 1 on a
difference). record.sh makes the virtual environment with the pinned tccli and runs this.
"""

import json
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))

# Runs inside the tccli process: the network call and the waiter's sleep are stubbed.
STUB = r'''
import json, os, sys, time
from tencentcloud.common.http import request as http_request

answers = json.loads(os.environ["ORACLE_ANSWERS"])
sent_path = os.environ["ORACLE_SENT"]
sent = []
time.sleep = lambda seconds: None

class Answer(object):
    def __init__(self, body):
        self.status_code = 200
        self.headers = {"Content-Type": "application/json"}
        self.content = body.encode("utf-8")
        self.text = body

def send_request(self, req):
    data = req.data if isinstance(req.data, str) else req.data.decode("utf-8")
    sent.append({"headers": dict(req.header), "body": data, "method": req.method})
    with open(sent_path, "w") as f:
        json.dump(sent, f)
    answer = answers[min(len(sent), len(answers)) - 1]
    return Answer(json.dumps({"Response": answer}, ensure_ascii=False))

http_request.ApiRequest.send_request = send_request
sys.argv = ["tccli"] + json.loads(os.environ["ORACLE_ARGS"])
from tccli.main import main
sys.exit(main())
'''

DEFAULT_CONFIGURE = {
    "_sys_param": {"region": "ap-guangzhou", "output": "json"},
    "iotexplorer": {"endpoint": "iotexplorer.tencentcloudapi.com", "version": "2019-04-23"},
}
DEFAULT_CREDENTIAL = {"secretId": "AKIDoracle000000000001", "secretKey": "oracle-secret-key"}


def what_was_sent(request):
    """The parts of a request both tools must agree on."""
    headers = {k.lower(): v for k, v in request["headers"].items()}
    authorization = headers.get("authorization", "")
    secret_id = None
    if "Credential=" in authorization:
        secret_id = authorization.split("Credential=", 1)[1].split("/", 1)[0]
    return {
        "action": headers.get("x-tc-action"),
        "version": headers.get("x-tc-version"),
        "region": headers.get("x-tc-region"),
        "token": headers.get("x-tc-token"),
        "language": headers.get("x-tc-language"),
        "secret_id": secret_id,
        "body": json.loads(request["body"]) if request["body"] else {},
    }


def run_case(python, case):
    with tempfile.TemporaryDirectory() as home:
        files = case.get("files")
        if files is None:
            files = {
                "default.configure": DEFAULT_CONFIGURE,
                "default.credential": DEFAULT_CREDENTIAL,
            }
        os.makedirs(os.path.join(home, ".tccli"))
        for name, content in files.items():
            with open(os.path.join(home, ".tccli", name), "w") as f:
                json.dump(content, f)
        sent_path = os.path.join(home, "sent.json")
        env = {
            "HOME": home,
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "ORACLE_ARGS": json.dumps(["iotexplorer"] + case["args"]),
            "ORACLE_ANSWERS": json.dumps(case.get("answers", [{"RequestId": "r"}])),
            "ORACLE_SENT": sent_path,
        }
        env.update(case.get("env", {}))
        done = subprocess.run(
            [python, "-c", STUB], env=env, capture_output=True, text=True, timeout=120
        )
        sent = []
        if os.path.exists(sent_path):
            with open(sent_path) as f:
                sent = [what_was_sent(request) for request in json.load(f)]
        return {
            "exit": done.returncode,
            "stdout": done.stdout,
            "stderr": done.stderr,
            "sent": sent,
        }


def main():
    args = sys.argv[1:]
    check = "--check" in args
    python = sys.executable
    if "--tccli" in args:
        python = args[args.index("--tccli") + 1]
    with open(os.path.join(HERE, "cases.json")) as f:
        cases = json.load(f)
    version = subprocess.run(
        [python, "-c", "import tccli; print(tccli.__version__)"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    fixtures = {"tccli_version": version, "cases": []}
    recorded_cases = []
    for case in cases:
        recorded = dict(case)
        recorded.setdefault("files", {
            "default.configure": DEFAULT_CONFIGURE,
            "default.credential": DEFAULT_CREDENTIAL,
        })
        recorded_cases.append(recorded)
    # Each case is a tccli process of its own, most of it Python importing tccli: one per
    # core at a time, kept and reported in the cases' order.
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        runs = list(pool.map(lambda recorded: run_case(python, recorded), recorded_cases))
    for recorded, run in zip(recorded_cases, runs):
        recorded["tccli"] = run
        fixtures["cases"].append(recorded)
        print("%-45s exit %d" % (recorded["name"], run["exit"]), file=sys.stderr)
    text = json.dumps(fixtures, indent=1, ensure_ascii=False, sort_keys=True) + "\n"
    path = os.path.join(HERE, "fixtures.json")
    if check:
        with open(path) as f:
            if f.read() != text:
                print("fixtures.json differs from what tccli %s does now" % version, file=sys.stderr)
                sys.exit(1)
        print("fixtures.json matches tccli %s" % version, file=sys.stderr)
    else:
        with open(path, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
