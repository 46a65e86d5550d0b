#!/usr/bin/env python3
"""Builds the k6 samples of this directory (no k6 binary on this machine).

k6-summary.json is the data object k6 passes to handleSummary(), as documented in
https://grafana.com/docs/k6/latest/results-output/end-of-test/custom-summary/ ("Summary data
reference": root_group with nested groups and checks {name, path, id, passes, fails}; options;
state.testRunDurationMs; metrics {type, contains, values, thresholds: {"expr": {"ok": bool}}}),
with group and check ids computed as k6 does (md5 of the path) and the values of a 30 s run of
1 VU against the shop (300 checks, 3 failed).

k6-summary-export.json is what `k6 run --summary-export=...` writes for the same run: k6
derives it from the same object in js/summary-wrapper.js (oldJSONSummary): options and state
deleted, each metric replaced by its values with thresholds {"expr": !ok} (inverted: true means
the threshold was crossed), a rate metric's "rate" renamed "value", and groups and checks turned
into objects keyed by name; serialized with JSON.stringify(results, null, 4).
"""
import copy
import hashlib
import json


def md5(s):
    return hashlib.md5(s.encode()).hexdigest()


def check(group_path, name, passes, fails):
    path = group_path + "::" + name
    return {"name": name, "path": path, "id": md5(path), "passes": passes, "fails": fails}


def group(parent_path, name, groups, checks):
    path = parent_path + "::" + name
    return {"name": name, "path": path, "id": md5(path), "groups": groups(path), "checks": checks(path)}


root = {
    "name": "",
    "path": "",
    "id": md5(""),
    "groups": [
        group("", "homepage", lambda p: [], lambda p: [
            check(p, "homepage status is 200", 60, 0),
            check(p, "homepage has title", 60, 0),
        ]),
        group("", "checkout", lambda p: [
            group(p, "pay", lambda q: [], lambda q: [check(q, "payment accepted", 57, 3)]),
        ], lambda p: [check(p, "cart status is 200", 60, 0)]),
    ],
    "checks": [check("", "health is ok", 60, 0)],
}

trend = ["avg", "min", "med", "max", "p(90)", "p(95)"]
data = {
    "root_group": root,
    "options": {"summaryTrendStats": trend, "summaryTimeUnit": "", "noColor": False},
    "state": {"isStdErrTTY": False, "isStdOutTTY": False, "testRunDurationMs": 30512.4387},
    "metrics": {
        "checks": {"type": "rate", "contains": "default",
                   "values": {"rate": 0.99, "passes": 297, "fails": 3},
                   "thresholds": {"rate>0.99": {"ok": False}}},
        "data_received": {"type": "counter", "contains": "data",
                          "values": {"count": 1843200, "rate": 60408.6}},
        "data_sent": {"type": "counter", "contains": "data",
                      "values": {"count": 61200, "rate": 2005.74}},
        "http_req_duration": {"type": "trend", "contains": "time",
                              "values": {"avg": 118.42, "min": 41.07, "med": 97.3, "max": 912.55,
                                         "p(90)": 201.6, "p(95)": 344.18},
                              "thresholds": {"p(95)<500": {"ok": True}, "max<1000": {"ok": True}}},
        "http_req_duration{expected_response:true}": {"type": "trend", "contains": "time",
                                                      "values": {"avg": 117.9, "min": 41.07, "med": 97.1,
                                                                 "max": 912.55, "p(90)": 199.8, "p(95)": 340.02}},
        "http_req_failed": {"type": "rate", "contains": "default",
                            "values": {"rate": 0.0125, "passes": 3, "fails": 237},
                            "thresholds": {"rate<0.01": {"ok": False}}},
        "http_reqs": {"type": "counter", "contains": "default", "values": {"count": 240, "rate": 7.8656}},
        "iteration_duration": {"type": "trend", "contains": "time",
                               "values": {"avg": 508.5, "min": 402.2, "med": 480.1, "max": 1411.9,
                                          "p(90)": 611.0, "p(95)": 752.3}},
        "iterations": {"type": "counter", "contains": "default", "values": {"count": 60, "rate": 1.9664}},
        "vus": {"type": "gauge", "contains": "default", "values": {"value": 1, "min": 1, "max": 1}},
        "vus_max": {"type": "gauge", "contains": "default", "values": {"value": 1, "min": 1, "max": 1}},
    },
}

with open("k6-summary.json", "w") as f:
    # handleSummary() { return {"k6-summary.json": JSON.stringify(data)} }: compact JSON.
    f.write(json.dumps(data, separators=(",", ":")))


def transform_group(g):
    g = dict(g)
    if isinstance(g.get("groups"), list):
        g["groups"] = {s["name"]: transform_group(s) for s in g["groups"]}
    if isinstance(g.get("checks"), list):
        g["checks"] = {c["name"]: c for c in g["checks"]}
    return g


export = copy.deepcopy(data)
del export["options"]
del export["state"]
for name, metric in list(export["metrics"].items()):
    old = metric["values"]
    if metric.get("thresholds"):
        old["thresholds"] = {k: not v["ok"] for k, v in metric["thresholds"].items()}
    if metric["type"] == "rate" and "rate" in old:
        old["value"] = old.pop("rate")
    export["metrics"][name] = old
export["root_group"] = transform_group(export["root_group"])
with open("k6-summary-export.json", "w") as f:
    f.write(json.dumps(export, indent=4))
