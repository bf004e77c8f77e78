"""The HTML leaderboard in a real headless browser (Debian's chromium): sorting works there.

Skips with a reason when no chromium is installed (CI installs it: see .ci/run).
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from sotbench.report.leaderboard import render_reports
from tests.report.test_leaderboard import write_fixture_results

BROWSER = next((shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome")
                if shutil.which(name)), None)

# Clicks the "Acc" header of the first table that has one (ascending, then descending) and writes the
# column's cell texts after each click into <pre id="sb-result">.
PROBE = """<script>
(function(){var table=null,col=-1;
 document.querySelectorAll('table.sortable').forEach(function(t){if(table)return;
  Array.prototype.forEach.call(t.tHead.rows[0].cells,function(th,i){if(th.textContent.indexOf('Acc')===0){table=t;col=i;}});});
 function column(){return Array.prototype.map.call(table.tBodies[0].rows,function(r){return r.cells[col].textContent;});}
 var th=table.tHead.rows[0].cells[col],out={before:column()};
 th.click();out.asc=column();th.click();out.desc=column();
 var pre=document.createElement('pre');pre.id='sb-result';pre.textContent=JSON.stringify(out);document.body.appendChild(pre);
})();
</script></body>"""


def _key(text: str) -> float | None:
    match = re.match(r"\s*[-+]?\d+(\.\d+)?", text)
    return float(match.group(0)) if match else None


@pytest.mark.skipif(BROWSER is None, reason="no chromium installed (apt-get install -y chromium); "
                                             "the browser check of the HTML sorting is skipped")
def test_sorting_works_in_headless_chromium(tmp_path):
    write_fixture_results(tmp_path / "results")
    render_reports(tmp_path / "results", tmp_path / "reports", plots=False)
    page = (tmp_path / "reports" / "leaderboard.html").read_text()
    assert "</body>" in page
    probe = tmp_path / "reports" / "probe.html"
    probe.write_text(page.replace("</body>", PROBE, 1))
    cmd = [BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
           f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000", "--dump-dom",
           probe.as_uri()]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        pytest.fail("chromium did not finish within 120 s")
    match = re.search(r'<pre id="sb-result">(.*?)</pre>', proc.stdout, re.S)
    assert match, f"no probe output from chromium (rc {proc.returncode}): {proc.stderr[-2000:]}"
    import html

    out = json.loads(html.unescape(match.group(1)))
    numbers = lambda cells: [_key(c) for c in cells if _key(c) is not None]  # noqa: E731
    asc, desc = numbers(out["asc"]), numbers(out["desc"])
    assert len(asc) >= 3 and asc == sorted(asc) and asc != numbers(out["before"])
    assert desc == sorted(desc, reverse=True)
    assert all(_key(c) is None for c in out["asc"][len(asc):])  # "–" cells sort last
    assert sorted(out["asc"]) == sorted(out["before"])  # rows moved, none lost
