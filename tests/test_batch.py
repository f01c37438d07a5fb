"""`zt batch`: the batch file, the scheduler (real worker processes), one real end-to-end batch."""

from __future__ import annotations

import csv
import os
import re
import signal
import tarfile
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from zt_toolkit import batch
from zt_toolkit.batch import BatchClient, load_batch
from zt_toolkit.cli import app
from zt_toolkit.errors import BrowserNotFoundError, ConfigError, ReportError
from zt_toolkit.report.render import NOTEBOOKS, client_slug

SLUG = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
DAY = "2026-11-27"


def write_yaml(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def read_csv(path: Path) -> dict[str, dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return {row["client"]: row for row in csv.DictReader(fh)}


def hidden_leftovers(root: Path) -> list[Path]:
    """Temporary folders/files of any kind (.batch-*, .<day>.partial-*, .old-*, .tmp files)."""
    return [p for p in root.rglob(".*")]


# ------------------------------------------------------------------------------------------
# the batch file
# ------------------------------------------------------------------------------------------
def test_paths_resolve_against_the_batch_files_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # elsewhere than the batch file
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    f = write_yaml(tmp_path / "engagements" / "q4" / "clients.yaml", """
clients:
  - client: Acme Shop
    snapshot: snapshots/acme.tar.gz
    config: ../configs/acme.yaml
    previous: /srv/reports/acme-shop/2026-08-01
  - client: Globex
    snapshot: ~/globex
    config:
""")
    acme, globex = load_batch(f)
    base = tmp_path / "engagements" / "q4"
    assert acme == BatchClient("Acme Shop", base / "snapshots/acme.tar.gz",
                               base / "../configs/acme.yaml",
                               Path("/srv/reports/acme-shop/2026-08-01"))
    assert acme.slug == "acme-shop"
    assert globex.snapshot == tmp_path / "home" / "globex"
    assert globex.config is None and globex.previous is None
    # relative batch file path given on the command line: still its own folder
    monkeypatch.chdir(tmp_path / "engagements")
    assert load_batch(Path("q4/clients.yaml"))[0].snapshot == base / "snapshots/acme.tar.gz"


@pytest.mark.parametrize(("text", "expected"), [
    ("clients: [", "cannot read the batch file"),
    ("- client: a\n  snapshot: s\n", "a mapping with a `clients:` list"),
    ("clients: []\n", "`clients` must be a non-empty list"),
    ("clients: []\njobs: 3\n", "unknown top-level key(s) 'jobs'"),
    ("clients:\n  - just-a-name\n", "clients[0]: expected a mapping with client and snapshot, "
                                    "got str"),
    ("clients:\n  - snapshot: s\n", "clients[0]: client is required"),
    ("clients:\n  - client: '  '\n    snapshot: s\n", "clients[0]: client is required"),
    ("clients:\n  - client: 2024\n    snapshot: s\n", "clients[0]: client is required"),
    ("clients:\n  - client: Acme\n", "clients[0] ('Acme'): snapshot is required"),
    ("clients:\n  - client: Acme\n    snapshot:\n", "clients[0] ('Acme'): snapshot must be a path"),
    ("clients:\n  - client: Acme\n    snapshot: [a, b]\n",
     "clients[0] ('Acme'): snapshot must be a path"),
    ("clients:\n  - client: Acme\n    snapshot: s\n    config: 7\n",
     "clients[0] ('Acme'): config must be a path"),
    ("clients:\n  - client: Acme\n    snapshot: \"s\\0x\"\n",
     "clients[0] ('Acme'): snapshot contains a NUL character"),
    ("clients:\n  - client: Acme\n    snapshot: s\n    out: /tmp/elsewhere\n",
     "clients[0] ('Acme'): 'out' is not allowed per client"),
    ("clients:\n  - client: Acme\n    snapshot: s\n    snaphsot: t\n",
     "clients[0] ('Acme'): unknown key 'snaphsot' (allowed: client, snapshot, config, previous)"),
])
def test_batch_file_errors_name_the_file_entry_and_key(tmp_path, text, expected):
    f = write_yaml(tmp_path / "clients.yaml", text)
    with pytest.raises(ConfigError) as err:
        load_batch(f)
    message = str(err.value)
    assert message.startswith(f"{f}: ")
    assert expected in message


def test_every_problem_is_reported_at_once(tmp_path):
    f = write_yaml(tmp_path / "clients.yaml", """
clients:
  - client: Good
    snapshot: s
  - client: Bad One
    out: x
  - snapshot: t
""")
    with pytest.raises(ConfigError) as err:
        load_batch(f)
    message = str(err.value)
    assert "clients[1] ('Bad One'): 'out' is not allowed" in message
    assert "clients[1] ('Bad One'): snapshot is required" in message
    assert "clients[2]: client is required" in message
    assert "clients[0]" not in message


@pytest.mark.parametrize(("first", "second", "folder"), [
    ("Acme Shop", "ACME shop!", "acme-shop"),
    ("Ümlaut AG", "umlaut ag", "umlaut-ag"),
    ("日本", "中国", "client"),  # nothing ASCII left: both would be "client"
    ("../../etc", "etc", "etc"),
])
def test_two_clients_in_one_folder_are_refused(tmp_path, first, second, folder):
    f = write_yaml(tmp_path / "clients.yaml", f"""
clients:
  - {{client: "{first}", snapshot: a}}
  - {{client: "{second}", snapshot: b}}
""")
    with pytest.raises(ConfigError) as err:
        load_batch(f)
    assert (f"clients[1] ({second!r}): writes to the same folder {folder!r} as clients[0] "
            f"({first!r})") in str(err.value)


@pytest.mark.parametrize("client", [
    "../../etc", "/etc/passwd", "..", ".", "a/../../b", "C:\\Windows\\System32", "nul\0byte",
    "日本", "Ünïcødé Ltd.", "<b>x</b>", "~root", "-rf", " ", "x" * 300,
])
def test_client_names_become_one_safe_folder(tmp_path, client):
    f = write_yaml(tmp_path / "clients.yaml", "clients:\n  - {client: CLIENT, snapshot: s}\n"
                   .replace("CLIENT", orjson.dumps(client).decode()))
    if not client.strip() or "\0" in client:
        with pytest.raises(ConfigError, match="client is required|client contains a NUL"):
            load_batch(f)
        assert SLUG.fullmatch(client_slug(client))  # and were it let through: still safe
        return
    (entry,) = load_batch(f)
    assert entry.client == client  # the name itself is kept for the report's title
    assert SLUG.fullmatch(entry.slug) and len(entry.slug) <= 64
    out = tmp_path / "out"
    assert (out / entry.slug).resolve().parent == out.resolve()


# ------------------------------------------------------------------------------------------
# the scheduler, with a stand-in worker in real processes
# ------------------------------------------------------------------------------------------
def stand_in_worker(client: BatchClient, staging: Path, pdf: bool) -> Path:
    """Behaves like write_report by client name; runs in the batch's worker process."""
    folder = staging / client.slug / DAY
    partial = staging / client.slug / f".{DAY}.partial-x"
    partial.mkdir(parents=True)
    (partial / "findings.csv").write_text("check_id\n")
    if client.client == "crash":
        print("about to crash", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    if client.client == "notebook fails":
        # as write_report does today: the failed run's folder is moved into place, then raised
        os.replace(partial, folder)
        raise ReportError(f"the report was not written because 03_pod_security.ipynb failed "
                          f"in cell 4. The findings files and the executed notebooks are in "
                          f"{folder}.")
    if client.client == "python error":
        raise KeyError("pillars")
    (partial / "summary.json").write_bytes(orjson.dumps(
        {"score": {"overall": 61.25, "stage": "initial", "pillars": []}, "counts": {}}))
    (partial / "findings.json").write_bytes(orjson.dumps([
        {"check_id": "a", "status": "fail", "waived": False},
        {"check_id": "a", "status": "fail", "waived": False},
        {"check_id": "b", "status": "fail", "waived": True},
        {"check_id": "c", "status": "pass", "waived": False},
        {"check_id": "d", "status": "fail", "waived": False}]))
    (partial / "report.html").write_text("<p>report</p>")
    (partial / f"{client.slug}.pdf").write_bytes(b"%PDF-1.7\n")
    os.replace(partial, folder)
    return folder


def test_failures_are_isolated_and_leave_no_half_report(tmp_path):
    out = tmp_path / "out"
    good_old = out / "notebook-fails" / DAY
    good_old.mkdir(parents=True)
    (good_old / "report.html").write_text("yesterday's good run")
    (out / "crash" / DAY).mkdir(parents=True)
    (out / "crash" / DAY / "report.html").write_text("the crash client's good run")
    names = ["crash", "notebook fails", "Globex", "python error", "../../etc"]
    clients = [BatchClient(n, tmp_path / "snap") for n in names]

    result = batch._run_all(clients, out, jobs=2, pdf=False, progress=False,
                            worker=stand_in_worker)

    by_name = {r.client: r for r in result.results}
    assert [r.client for r in result.results] == names
    assert {n: r.status for n, r in by_name.items()} == {
        "crash": "failed", "notebook fails": "failed", "Globex": "ok", "python error": "failed",
        "../../etc": "ok"}
    assert "worker process crashed (killed by signal SIGKILL)" in by_name["crash"].error
    assert "about to crash" in (out / "batch-logs" / "crash.log").read_text()
    assert by_name["python error"].error == "KeyError: 'pillars'"
    assert "Traceback" in (out / "batch-logs" / "python-error.log").read_text()
    # a failed run never replaces a report; what it wrote is kept aside for diagnosis
    assert (good_old / "report.html").read_text() == "yesterday's good run"
    assert (out / "crash" / DAY / "report.html").read_text() == "the crash client's good run"
    kept = out / "batch-logs" / "notebook-fails-failed"
    assert (kept / "findings.csv").is_file()
    assert f"executed notebooks are in {kept}." in by_name["notebook fails"].error
    # the good ones are in place, the hostile name inside out
    for name, slug in (("Globex", "globex"), ("../../etc", "etc")):
        r = by_name[name]
        assert r.report == out / slug / DAY
        assert (r.report / "report.html").read_text() == "<p>report</p>"
        assert (r.score, r.stage, r.failing_checks) == (61.25, "initial", 2)
    assert not (tmp_path / "etc").exists()
    assert hidden_leftovers(out) == []
    rows = read_csv(result.summary_csv)
    assert list(rows) == names
    assert rows["Globex"] == {"client": "Globex", "status": "ok", "report": f"globex/{DAY}",
                              "score": "61.2", "stage": "initial", "failing_checks": "2",
                              "error": "", "seconds": rows["Globex"]["seconds"]}
    assert rows["crash"]["status"] == "failed" and rows["crash"]["report"] == ""
    html = result.summary_html.read_text()
    assert f'<a href="globex/{DAY}/report.html">HTML</a>' in html
    assert f'<a href="globex/{DAY}/globex.pdf">PDF</a>' in html


def test_summary_escapes_and_defuses_what_clients_and_errors_contain(tmp_path):
    hostile = "<img src=x onerror=alert(1)>"
    results = [batch.ClientResult("=HYPERLINK(\"http://x\")", "hyperlink-http-x", "failed",
                                  error=f"{hostile} & more"),
               batch.ClientResult("<b>x</b>", "b-x-b", "failed", error="-2+3")]
    csv_path, html_path = batch.write_batch_summary(results, tmp_path)
    html = html_path.read_text()
    assert hostile not in html and "<b>x</b>" not in html
    assert "&lt;img src=x onerror=alert(1)&gt; &amp; more" in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html
    rows = read_csv(csv_path)
    assert rows["'=HYPERLINK(\"http://x\")"]["error"].startswith("<img")  # CSV holds it raw
    assert rows["<b>x</b>"]["error"] == "'-2+3"


def test_a_missing_browser_stops_the_batch_before_it_starts(tmp_path, monkeypatch):
    monkeypatch.setenv("ZT_BROWSER", str(tmp_path / "no-such-chrome"))
    with pytest.raises(BrowserNotFoundError) as err:
        batch.run_batch([BatchClient("Acme", tmp_path / "snap")], tmp_path / "out", pdf=True)
    assert "ZT_BROWSER" in str(err.value) and "--no-pdf" in str(err.value)
    assert "still written" not in str(err.value)
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------------------------------
# end to end: real notebooks, real PDF when a browser exists
# ------------------------------------------------------------------------------------------
def _browser() -> bool:
    from zt_toolkit.report.pdf import find_browser

    try:
        find_browser()
    except BrowserNotFoundError:
        return False
    return True


@pytest.mark.slow
def test_zt_batch_end_to_end(demo_snapshot, tmp_path):
    from tests.conftest import ROOT

    truncated = tmp_path / "inputs" / "globex.tar.gz"
    truncated.parent.mkdir()
    with tarfile.open(truncated, "w:gz") as tar:
        tar.add(demo_snapshot, arcname="snapshot")
    truncated.write_bytes(truncated.read_bytes()[: truncated.stat().st_size // 2])
    earlier = tmp_path / "inputs" / "earlier" / "findings.json"  # "previous", relative below
    earlier.parent.mkdir()
    assert CliRunner().invoke(app, ["assess", str(demo_snapshot), "--format", "json",
                                    "--out", str(earlier)]).exit_code == 0
    clients = write_yaml(tmp_path / "inputs" / "clients.yaml", f"""
clients:
  - client: Acme Shop
    snapshot: {demo_snapshot}
    config: {ROOT / "examples" / "acme-shop.yaml"}
    previous: earlier/findings.json
  - client: "<b>x</b>"
    snapshot: globex.tar.gz
  - client: Initech
    snapshot: {demo_snapshot}
    config: configs/initech.yaml
""")
    out = tmp_path / "reports"
    pdf = _browser()
    result = CliRunner().invoke(app, ["batch", str(clients), "--jobs", "2", "--out", str(out),
                                      *([] if pdf else ["--no-pdf"])])
    assert result.exit_code == 1, result.output
    text = " ".join(result.output.split())
    assert "1 of 3 client report(s) written" in text
    assert "2 client(s) failed" in text

    rows = read_csv(out / "batch-summary.csv")
    assert list(rows) == ["Acme Shop", "<b>x</b>", "Initech"]
    good = rows["Acme Shop"]
    assert good["status"] == "ok" and good["error"] == ""
    assert float(good["score"]) > 0 and good["stage"] and int(good["failing_checks"]) > 0
    folder = out / good["report"]
    assert folder.parent == out / "acme-shop"
    names = {p.name for p in folder.iterdir()}
    expected = {"findings.csv", "findings.json", "findings.xlsx", "summary.json", "report.html",
                *(f"{n}.ipynb" for n in NOTEBOOKS)}
    assert expected <= names, expected - names
    if pdf:
        assert (folder / "acme-shop.pdf").read_bytes().startswith(b"%PDF")
    changes = orjson.loads((folder / "summary.json").read_bytes())["changes"]
    assert changes.get("unchanged", 0) > 0  # `previous` reached write_report

    assert rows["<b>x</b>"]["status"] == "failed" and rows["<b>x</b>"]["report"] == ""
    assert str(truncated) in rows["<b>x</b>"]["error"]
    assert "damaged" in rows["<b>x</b>"]["error"]
    assert rows["Initech"]["status"] == "failed"
    assert str(tmp_path / "inputs" / "configs" / "initech.yaml") in rows["Initech"]["error"]
    assert str(truncated) in "".join(result.output.split())  # named on the console too

    assert not (out / "b-x-b").exists() and not (out / "initech").exists()
    assert hidden_leftovers(out) == []
    assert not list(out.rglob("*partial*"))
    html = (out / "batch-summary.html").read_text()
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html
    assert f'href="acme-shop/{folder.name}/report.html"' in html
