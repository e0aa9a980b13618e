"""Assemble ``benchmarks/RESULTS.md`` from the per-benchmark reports in ``benchmarks/results/``.

Every benchmark script writes ``benchmarks/results/<name>.md`` (and ``.json``) with its exact
command, date and machine. This script puts them on one page, in a fixed order, after a short
hand-written introduction and a summary table (command, date, cores and headline of each), and
lists every benchmark without a report as "not run" together with the command that produces it.
Headings are demoted by two levels and relative links are rewritten so the page renders from ``benchmarks/``.

    python benchmarks/make_results.py [--results benchmarks/results] [--out benchmarks/RESULTS.md]
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Section:
    """One benchmark of the results page."""

    name: str  # report file stem under benchmarks/results/
    title: str
    command: str  # how to produce it
    peer: str  # what it is measured against
    measured_in: str | None = None  # another section whose run also measures it


SECTIONS = (
    Section(
        "cost_model",
        "Cost model (exact MACs/params)",
        "python benchmarks/cost_model.py",
        "torch FlopCounterMode on meta-device models",
    ),
    Section(
        "trainer_overhead",
        "Trainer overhead",
        "python benchmarks/trainer_overhead.py",
        "a bare PyTorch training loop",
    ),
    Section(
        "predictor_quality",
        "Predictor quality (FBNetV3 Fig. 5)",
        "python benchmarks/predictor_quality.py",
        "ranking by log MACs alone",
    ),
    Section(
        "ga_time",
        "Stage-2 adaptive GA time",
        "python benchmarks/ga_time.py",
        "the paper's one CPU minute; random search with the same number of scored candidates",
    ),
    Section(
        "augment_throughput",
        "Augmentation throughput",
        "python benchmarks/augment_throughput.py",
        "torchvision AutoAugment / RandAugment (PIL and tensor input)",
    ),
    Section(
        "ppo_learning",
        "PPO learning curve",
        "python benchmarks/ppo_learning.py",
        "random search and TPE on the same reward",
    ),
    Section(
        "augment_search",
        "Augmentation search results (reduced CIFAR-10)",
        "python benchmarks/augment_search.py",
        "no policy, published AutoAugment/RandAugment, TrivialAugment",
    ),
    Section(
        "surrogate",
        "Surrogate benchmark fit",
        "python benchmarks/surrogate.py",
        "the other model family on the same folds",
    ),
    Section(
        "sampler_overhead",
        "Sampler overhead per trial",
        "python benchmarks/sampler_comparison.py",
        "TPE, GP, random and QMC samplers in the same runs",
        measured_in="sampler_comparison",
    ),
    Section(
        "sampler_comparison",
        "Sampler comparison (surrogate benchmark)",
        "python benchmarks/sampler_comparison.py",
        "TPE (the 64-trial target), GP, random and QMC samplers in the same run",
    ),
    Section(
        "live_check",
        "Live check: JointNAS vs TPE with real training",
        "python benchmarks/live_check.py",
        "TPE with the same objective, data and constraint",
    ),
    Section(
        "scaling",
        "Scaling across workers",
        "python benchmarks/scaling.py",
        "1 worker on the same storage",
    ),
)

INTRO = """\
# optnas benchmark results

One page for every benchmark of the project. Each section below is the report its script wrote
(`benchmarks/results/<name>.md`, with the raw numbers in `<name>.json`), reproduced verbatim:
the exact command, the date, the machine, and the figures as ratios against the peer measured
in the same run. Regenerate this page with `python benchmarks/make_results.py`.

Caveat that applies to every number: the benchmarks ran on a 2-core CPU machine shared with
other jobs (load averages of 6-8 were common), so absolute times are upper bounds; the ratios
are taken within one run, where both sides saw the same load. Searches that need real training
(reduced CIFAR-10) were run at the smallest budgets a CPU session allows; each section says so.
"""


def _field(pattern: str, text: str) -> str | None:
    m = re.search(pattern, text, flags=re.IGNORECASE | re.MULTILINE)
    return m.group(1).strip() if m else None


def describe(text: str) -> dict[str, str]:
    """Command, date, cores, status and headline of a report (``"not stated"`` when absent)."""
    command = _field(r"command:?\**\s*`([^`]+)`", text) or _field(r"`((?:\.venv/bin/)?python [^`]+)`", text)
    date = _field(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?(?:Z|[+-]\d{2}:\d{2})?)", text)
    cores = _field(r"(\d+)\s+(?:logical\s+|usable\s+)?(?:cores|CPUs)", text)
    status = _field(r"^Status:\s*([a-z ]+?)[;.\n]", text) or "complete"
    headline = _field(r"^\*\*(.+?)\*\*\s*$", text)
    return {
        "command": command or "not stated",
        "date": date or "not stated",
        "cores": cores or "not stated",
        "status": status,
        "headline": headline or "see section",
    }


def _body(text: str, results_rel: str) -> str:
    """The report with headings demoted by one level and relative links pointing into results/."""
    lines = []
    for line in text.splitlines():
        if line.startswith("#"):
            line = "##" + line
        lines.append(line)
    out = "\n".join(lines)

    def link(m: re.Match[str]) -> str:
        target = m.group(2)
        if re.match(r"^(?:[a-z]+:|/|#|\.\./|results/)", target):
            return m.group(0)
        return f"{m.group(1)}({results_rel}/{target})"

    return re.sub(r"(!?\[[^\]]*\])\(([^)\s]+)\)", link, out)


def assemble(results: Path, out: Path) -> str:
    """The page's Markdown."""
    rel = Path(results).resolve().relative_to(out.parent.resolve()).as_posix()
    found = {s.name: (results / f"{s.name}.md").read_text() for s in SECTIONS if (results / f"{s.name}.md").exists()}
    parts = [INTRO]
    parts += [
        "## Summary",
        "",
        "| benchmark | peer in the same run | status | date (UTC) | cores | headline | command |",
        "|---|---|---|---|---|---|---|",
    ]
    for s in SECTIONS:
        if s.name not in found:
            host = next((h for h in SECTIONS if h.name == s.measured_in and h.name in found), None)
            if host is not None:
                d = describe(found[host.name])
                parts.append(
                    f"| [{s.title}](#{_anchor(host.title)}) | {s.peer} | in {host.title} | {d['date']} | "
                    f"{d['cores']} | overhead table of that report | `{d['command']}` |"
                )
            else:
                parts.append(f"| {s.title} | {s.peer} | **not run** | - | - | - | `{s.command}` |")
            continue
        d = describe(found[s.name])
        headline = d["headline"].replace("|", "\\|")
        parts.append(
            f"| [{s.title}](#{_anchor(s.title)}) | {s.peer} | {d['status']} | {d['date']} | {d['cores']} | "
            f"{headline} | `{d['command']}` |"
        )
    parts.append("")
    for s in SECTIONS:
        parts.append(f"## {s.title}")
        parts.append("")
        if s.name in found:
            parts.append(f"Report: `{rel}/{s.name}.md`; peer: {s.peer}.")
            parts.append("")
            parts.append(_body(found[s.name], rel).strip())
        elif s.measured_in in found:
            host = next(h for h in SECTIONS if h.name == s.measured_in)
            parts.append(
                f"Measured in the same runs as the [{host.title}](#{_anchor(host.title)}): see its "
                "overhead table (sampler wall time per trial minus the objective's evaluation time)."
            )
        else:
            parts.append(f"**Not run**: no `{rel}/{s.name}.md` yet. Produce it with `{s.command}`.")
        parts.append("")
    extra = sorted(p.stem for p in results.glob("*.md") if p.stem not in {s.name for s in SECTIONS})
    if extra:
        parts.append("## Other reports")
        parts.append("")
        parts += [f"- `{rel}/{name}.md`" for name in extra]
        parts.append("")
    stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    parts.append(f"_Assembled {stamp} by `python benchmarks/make_results.py`._")
    return "\n".join(parts) + "\n"


def _anchor(title: str) -> str:
    """GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--results", type=Path, default=REPO / "benchmarks" / "results")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "RESULTS.md")
    args = ap.parse_args(argv)
    text = assemble(args.results, args.out)
    args.out.write_text(text)
    missing = [s.name for s in SECTIONS if not (args.results / f"{s.name}.md").exists()]
    print(f"wrote {args.out} ({len(SECTIONS) - len(missing)} reports; not run: {', '.join(missing) or 'none'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
