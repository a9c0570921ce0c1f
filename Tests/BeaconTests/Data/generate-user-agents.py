#!/usr/bin/env python3
"""Regenerates the user-agent fixtures of the bot tests from two PyPI packages:
crawler-user-agents (crawler instances) and fake-useragent (real browser user agents).

    python3 -m venv /tmp/uavenv && /tmp/uavenv/bin/pip install crawler-user-agents fake-useragent
    /tmp/uavenv/bin/python Tests/BeaconTests/Data/generate-user-agents.py

Writes crawlers.txt and browsers.txt beside this script, one user agent per line, sorted, unique.
"""
import json
import pathlib

import crawleruseragents
import fake_useragent

here = pathlib.Path(__file__).parent
crawlers = {ua for entry in crawleruseragents.CRAWLER_USER_AGENTS_DATA for ua in entry.get("instances", [])}
browsers_file = pathlib.Path(fake_useragent.__file__).parent / "data" / "browsers.jsonl"
browsers = {json.loads(line)["useragent"] for line in browsers_file.read_text().splitlines() if line.strip()}
for name, agents in (("crawlers.txt", crawlers), ("browsers.txt", browsers)):
    clean = sorted(ua.strip() for ua in agents if ua.strip() and "\n" not in ua)
    (here / name).write_text("\n".join(clean) + "\n")
    print(name, len(clean))
