"""One run's result as a short text table, with the published row beside it."""
from __future__ import annotations

from sotbench.report import published

__all__ = ["format_run_summary"]


def _f(value) -> str:
    return "–" if value is None else f"{value:.1f}"


def format_run_summary(result: dict) -> str:
    """Plain-text summary printed at the end of ``sotbench run``."""
    metrics = result.get("metrics") or {}
    head = (f"{result['task']} | model={result['model']} loss={result.get('loss') or '-'} "
            f"seed={result['seed']} budget={result['budget']} | {result.get('status')} "
            f"in {result.get('duration_s', 0):.1f} s")
    lines = [head]
    if result["task"] == "synth-ae":
        keys = published.SOT_METRICS
        # LSD is a mean squared dB difference (paper 000's definition and code): its unit is dB², not dB.
        heads = {"lsd_db": "LSD dB²", "rpa": "RPA %", "rca": "RCA %", "od": "OD oct"}
        lines.append("            " + "  ".join(f"{heads.get(k, k):>7}" for k in keys))
        lines.append("sotbench    " + "  ".join(f"{_f(metrics.get(k)):>7}" for k in keys))
        pub = published.SOT_TABLE1.get(result.get("loss") or "")
        if pub:
            lines.append("published*  " + "  ".join(f"{_f(v):>7}" for v in pub["mean"]))
            lines.append(f"* mean over 5 seeds, {published.SOT_CITATION}")
    elif result["task"] == "mpe":
        datasets = sorted({k.split("/")[0] for k in metrics if "/" in k})
        main_rows = ("Basic-Pitch", "CREPE (multi)", "PESTO (multi)", "SS-MPE (L)")
        pub_rows = {published.SSMPE_TABLE1[k]["model"]: (k, dict(zip(published.MPE_DATASETS,
                                                                    published.SSMPE_TABLE1[k]["scores"], strict=True)))
                    for k in main_rows}
        lines.append(f"{'dataset':<16}{'P':>7}{'R':>7}{'Acc':>7}   published P/R/Acc")
        for name in datasets:
            pub = pub_rows.get(result["model"], (None, {}))[1].get(name)
            pub_text = "/".join(_f(v) for v in pub) + f" ({pub_rows[result['model']][0]})" if pub else ""
            lines.append(f"{name:<16}" + "".join(f"{_f(metrics.get(f'{name}/{k}')):>7}" for k in ("p", "r", "acc"))
                         + f"   {pub_text}")
        if "rtf" in metrics:
            lines.append(f"compute: {metrics['rtf']:.3f} s per audio second")
    else:
        lines += [f"{k}: {v}" for k, v in metrics.items()]
    return "\n".join(lines)
