#!/usr/bin/env bash
# Make sure what the PDF report needs is there:
#   * a Chromium-family browser (kaleido draws the charts as SVG with it, and it prints the PDF);
#     looked up like zt_toolkit.report.pdf.find_browser: $ZT_BROWSER, $BROWSER_PATH, PATH names,
#     the usual install paths;
#   * the Liberation fonts (the report's font, metric-compatible with Arial);
#   * poppler-utils (pdftoppm, pdftotext, pdfinfo: the tests read and render the PDF).
# Missing pieces are installed from Debian when running as root with apt-get; otherwise the
# script explains what to install and exits 0 (the HTML report works without any of them).
set -u

have_browser() {
  local candidate name path
  for candidate in "${ZT_BROWSER:-}" "${BROWSER_PATH:-}"; do
    [ -n "$candidate" ] || continue
    if [ -f "$candidate" ] && [ -x "$candidate" ]; then return 0; fi
    echo "warning: $candidate (from ZT_BROWSER/BROWSER_PATH) is not an executable file:" >&2
    echo "         fix or unset the variable, or the PDF step stops with an error" >&2
    return 2
  done
  for name in google-chrome-stable google-chrome chrome chromium chromium-browser \
              microsoft-edge-stable microsoft-edge msedge brave-browser; do
    command -v "$name" >/dev/null 2>&1 && return 0
  done
  for path in /opt/google/chrome/chrome /snap/bin/chromium /opt/microsoft/msedge/msedge \
              "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome" \
              "/Applications/Microsoft Edge.app/Contents/MacOS/Microsoft Edge" \
              "/Applications/Chromium.app/Contents/MacOS/Chromium"; do
    [ -x "$path" ] && return 0
  done
  return 1
}

have_fonts() {
  if command -v fc-list >/dev/null 2>&1; then
    fc-list 2>/dev/null | grep -q "Liberation Sans" && return 0
  fi
  [ -e /usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf ] ||
    [ -e /usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf ]
}

have_poppler() {
  command -v pdftoppm >/dev/null 2>&1 && command -v pdftotext >/dev/null 2>&1 &&
    command -v pdfinfo >/dev/null 2>&1
}

missing=()
have_browser
[ $? -eq 1 ] && missing+=(chromium)  # 2: a variable points nowhere; installing cannot help
have_fonts || missing+=(fonts-liberation)
have_poppler || missing+=(poppler-utils)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing ${missing[*]} (charts, PDF report and its tests)…"
  export DEBIAN_FRONTEND=noninteractive
  if apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null; then
    exit 0
  fi
  echo "warning: apt-get could not install ${missing[*]}" >&2
fi
for pkg in "${missing[@]}"; do
  case "$pkg" in
    chromium)
      echo "note: no Chrome, Edge or Chromium found. Install one (Debian/Ubuntu: apt-get install" >&2
      echo "      chromium; macOS/Windows: Google Chrome or Microsoft Edge), or set ZT_BROWSER to" >&2
      echo "      the browser executable. Without it there are no SVG charts and no PDF; the HTML" >&2
      echo "      report still works." >&2 ;;
    fonts-liberation)
      echo "note: the Liberation fonts are missing (Debian: apt-get install fonts-liberation);" >&2
      echo "      the report falls back to Arial or Helvetica." >&2 ;;
    poppler-utils)
      echo "note: pdftoppm/pdftotext/pdfinfo are missing (Debian: apt-get install poppler-utils;" >&2
      echo "      macOS: brew install poppler): the PDF tests are skipped." >&2 ;;
  esac
done
exit 0
