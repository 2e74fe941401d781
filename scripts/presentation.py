"""The slide deck (`Informe Escrito/presentacion.pptx`, 16:9) from the executed report
(`Informe Escrito/RafaelJuarez.ipynb`) and the pipeline outputs it was executed on.

    python scripts/presentation.py [REPORT [DECK [ROOT]]]

REPORT defaults to `Informe Escrito/RafaelJuarez.ipynb`, DECK to `Informe Escrito/presentacion.pptx`, ROOT (the
project whose `dvc.lock`, `metrics/`, `Data/Clean Data/` and MLflow store the report was executed on) to the
project the report is in.

The deck is built by the `deck` package next to this script (`deck/slides.yaml` says what each slide and its
speaker say, with the report's facts filled in; `deck/content.py` gives each slide its visual; `deck/report.py`
says what the report must hold). This
module keeps the command line and the names its callers import (`from presentation import build_presentation`).
"""

import argparse
from pathlib import Path

from deck import (CONTENTS, COVER, MAX_BULLETS, NOTES_FILE, TOTAL_MINUTES, Report, SlideSpec, build_presentation,
                  read_report, talk_minutes)

__all__ = ["CONTENTS", "COVER", "MAX_BULLETS", "NOTES_FILE", "TOTAL_MINUTES", "Report", "SlideSpec",
           "build_presentation", "read_report", "talk_minutes"]


def main() -> int:
    repo = Path(__file__).resolve().parents[1]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
    parser.add_argument("report", nargs="?", type=Path, default=repo / "Informe Escrito" / "RafaelJuarez.ipynb",
                        help="the executed report (default: Informe Escrito/RafaelJuarez.ipynb)")
    parser.add_argument("deck", nargs="?", type=Path, default=repo / "Informe Escrito" / "presentacion.pptx",
                        help="the .pptx to write (default: Informe Escrito/presentacion.pptx)")
    parser.add_argument("root", nargs="?", type=Path, help="the project the report was executed on (default: the "
                        "report's own project)")
    args = parser.parse_args()
    if not args.report.is_file():
        parser.error(f"no report at '{args.report}'; execute it first (python scripts/deliverables.py build)")
    print(f"{build_presentation(args.report, args.deck, root=args.root)} slides in {args.deck}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
