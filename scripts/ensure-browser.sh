#!/usr/bin/env bash
# Make sure a Chromium-family browser exists for kaleido (SVG charts) and PDF printing.
# Order: $ZT_BROWSER, $BROWSER_PATH, PATH, usual install paths; else install Debian's chromium
# when running as root with apt-get; else explain what to install (the report still works:
# charts fall back to inline plotly.js in the HTML).
set -u
for candidate in "${ZT_BROWSER:-}" "${BROWSER_PATH:-}"; do
  [ -n "$candidate" ] && [ -x "$candidate" ] && exit 0
done
for name in chromium chromium-browser google-chrome google-chrome-stable microsoft-edge msedge; do
  command -v "$name" >/dev/null 2>&1 && exit 0
done
for path in "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome" \
            "/Applications/Chromium.app/Contents/MacOS/Chromium" \
            "/Applications/Microsoft Edge.app/Contents/MacOS/Microsoft Edge"; do
  [ -x "$path" ] && exit 0
done
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian chromium (for SVG charts and the PDF report)…"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq chromium >/dev/null && exit 0
fi
echo "note: no Chromium, Chrome or Edge found. Install one (or set ZT_BROWSER=/path/to/browser)" >&2
echo "      for vector charts and PDF output; the HTML report still works without it." >&2
exit 0
