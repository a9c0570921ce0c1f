#!/usr/bin/env python3
"""Extracts the expected browser, OS and device type of Matomo's desktop, smartphone and tablet
fixtures, as shipped in the PyPI package device-detector, into devices.tsv.gz beside this script
(read by DeviceFixtureTests).

    pip download --no-deps device-detector==6.5.1 -d /tmp/dd     # needs PyYAML to run
    python3 Tests/BeaconTests/Data/device-detector/extract_devices.py /tmp/dd/device_detector-6.5.1-py3-none-any.whl

The files read are `device_detector/tests/fixtures/upstream/{desktop,smartphone,tablet}*.yml`.
One line per fixture entry, tab-separated: fixture file, client type, expected browser family,
expected OS family, expected device type, User-Agent. The families are the ones Clickpath
derives and a user filters by (Sources/Beacon/README.md "Device from the User-Agent"):

- browser: Matomo's `client.name` with its variants merged (BROWSER below: "Chrome Mobile",
  "Chrome Webview" count as Chrome...), other names kept as Matomo writes them; empty when the
  client is no browser (an app, a library: those are not scored for the browser);
- OS: Matomo's `os_family` with two renames (OS below: GNU/Linux is Linux, Mac is macOS);
  empty when Matomo knows none;
- device type: Matomo's `device.type`, phablet counted as smartphone.

The first line is a `#` comment naming the package version and the counts.
"""
import gzip
import pathlib
import re
import sys
import zipfile

import yaml

BROWSER = {
    "Chrome Mobile": "Chrome", "Chrome Webview": "Chrome", "Chromium": "Chrome", "Chrome Mobile iOS": "Chrome",
    "Mobile Safari": "Safari",
    "Firefox Mobile": "Firefox", "Firefox Mobile iOS": "Firefox", "Firefox Focus": "Firefox",
    "Microsoft Edge": "Edge",
    "Opera Mobile": "Opera", "Opera Mini": "Opera", "Opera GX": "Opera", "Opera Mini iOS": "Opera", "Opera Touch": "Opera",
    "Samsung Browser": "Samsung Internet", "Samsung Browser Lite": "Samsung Internet",
    "Yandex Browser": "Yandex", "Yandex Browser Lite": "Yandex",
    "UC Browser": "UC Browser", "UC Browser Turbo": "UC Browser", "UC Browser Mini": "UC Browser",
    "IE Mobile": "Internet Explorer",
}
OS = {"GNU/Linux": "Linux", "Mac": "macOS", "Unknown": ""}
DEVICE = {"phablet": "smartphone"}

wheel = pathlib.Path(sys.argv[1])
version = re.match(r"device_detector-([^-]+)-", wheel.name).group(1)
loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
lines, files = [], 0
with zipfile.ZipFile(wheel) as archive:
    names = sorted(n for n in archive.namelist()
                   if re.fullmatch(r"device_detector/tests/fixtures/upstream/(desktop|smartphone|tablet)(-\d+)?\.yml", n))
    for name in names:
        files += 1
        for entry in yaml.load(archive.read(name), Loader=loader) or []:
            client = entry.get("client") or {}
            kind = str(client.get("type") or "none")
            browser = str(client.get("name") or "") if kind == "browser" else ""
            os_family = str(entry.get("os_family") or "")
            device = str((entry.get("device") or {}).get("type") or "")
            fields = [pathlib.Path(name).name, kind, BROWSER.get(browser, browser), OS.get(os_family, os_family),
                      DEVICE.get(device, device), str(entry.get("user_agent") or "").strip()]
            lines.append("\t".join(re.sub(r"[\t\r\n]", " ", field) for field in fields))
header = f"# device-detector {version}: {files} fixture files, {len(lines)} entries"
out = pathlib.Path(__file__).parent / "devices.tsv.gz"
out.write_bytes(gzip.compress(("\n".join([header] + lines) + "\n").encode(), compresslevel=9, mtime=0))
print(header)
