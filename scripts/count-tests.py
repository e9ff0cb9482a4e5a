#!/usr/bin/env python3
"""Sums GoogleTest XML reports into the one closing line CI reads: 'N passed, N failed'.

A report that lists no test at all, or a directory with no report, counts as a failure: a
suite that silently ran nothing must not look green.
"""
import pathlib
import sys
import xml.etree.ElementTree as ET

root = pathlib.Path(sys.argv[1])
passed = failed = skipped = 0
reports = sorted(root.rglob("*.xml"))
for report in reports:
    for case in ET.parse(report).getroot().iter("testcase"):
        if case.find("failure") is not None:
            failed += 1
            print(f"FAILED: {report.parent.name}/{case.get('classname')}.{case.get('name')}")
        elif case.get("result") == "skipped" or case.find("skipped") is not None:
            skipped += 1
            print(f"SKIPPED: {report.parent.name}/{case.get('classname')}.{case.get('name')}")
        else:
            passed += 1
if not reports or passed == 0:
    print("no test results found", file=sys.stderr)
    failed += 1
print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
sys.exit(1 if failed else 0)
