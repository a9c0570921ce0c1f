#!/usr/bin/env python3
"""Extracts the user agents of Matomo's upstream fixtures, as shipped in the PyPI package
device-detector, into fixtures.tsv.gz beside this script (read by BotFixtureTests).

    pip download --no-deps device-detector==6.5.1 -d /tmp/dd     # needs PyYAML to run
    python3 Tests/BeaconTests/Data/device-detector/extract.py /tmp/dd/device_detector-6.5.1-py3-none-any.whl

Every `device_detector/tests/fixtures/upstream/*.yml` file of the wheel is read. One line per
fixture entry, tab-separated: fixture file, kind, name, User-Agent. The kind is `bot` for an
entry with a `bot:` key, else Matomo's client type (`browser`, `mobile app`, `library`,
`feed reader`, `mediaplayer`, `pim`...) or `none` when the entry has no client. The first line
is a `#` comment naming the package version and the number of fixture files.
"""
import gzip
import pathlib
import re
import sys
import zipfile

import yaml

wheel = pathlib.Path(sys.argv[1])
version = re.match(r"device_detector-([^-]+)-", wheel.name).group(1)
loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
lines, files = [], 0
with zipfile.ZipFile(wheel) as archive:
    names = sorted(n for n in archive.namelist()
                   if re.fullmatch(r"device_detector/tests/fixtures/upstream/[^/]+\.yml", n))
    for name in names:
        files += 1
        for entry in yaml.load(archive.read(name), Loader=loader) or []:
            agent = str(entry.get("user_agent") or "").strip()
            if "bot" in entry:
                kind, label = "bot", (entry["bot"] or {}).get("name", "")
            else:
                client = entry.get("client") or {}
                kind, label = str(client.get("type") or "none"), client.get("name", "")
            fields = [pathlib.Path(name).name, kind, str(label or ""), agent]
            lines.append("\t".join(re.sub(r"[\t\r\n]", " ", field) for field in fields))
header = f"# device-detector {version}: {files} fixture files, {len(lines)} entries"
out = pathlib.Path(__file__).parent / "fixtures.tsv.gz"
out.write_bytes(gzip.compress(("\n".join([header] + lines) + "\n").encode(), compresslevel=9, mtime=0))
print(header)
