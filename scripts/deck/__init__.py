"""The slide deck (`Informe Escrito/presentacion.pptx`, 16:9) from the executed report
(`Informe Escrito/RafaelJuarez.ipynb`) and the pipeline outputs it was executed on; `scripts/presentation.py`
is its command line. Its modules, from what the deck says to how it is drawn:

- `content`: the deck in order, like an outline, and which visual each slide title gets;
- `report`: what the deck takes from the report (the contract between them);
- `outputs`: the pipeline outputs of the report's run, which the visuals redraw;
- `notes`: the speaker notes and their minutes;
- `build`: the deck put together and saved;
- `charts`, `diagrams`, `photos`: the visuals;
- `layout`: the frame every slide shares and the text fitted into it;
- `shapes`, `design`: drawing primitives, and the sizes and colours they use.
"""

from .build import build_presentation
from .content import CONTENTS, COVER, MAX_BULLETS
from .notes import NOTES_FILE, TOTAL_MINUTES, talk_minutes
from .report import Report, SlideSpec, read_report

__all__ = ["CONTENTS", "COVER", "MAX_BULLETS", "NOTES_FILE", "TOTAL_MINUTES", "Report", "SlideSpec",
           "build_presentation", "read_report", "talk_minutes"]
