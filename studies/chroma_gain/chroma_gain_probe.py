"""Would a saturation boost fix a dull model? Scores a model with its a*b* multiplied by a gain.

The quality benchmark (``benchmarks/quality_benchmark.py``, in process) with each ``--model NAME=PATH@GAIN`` scored
as the model's a*b* times GAIN (clipped to the model's range). Use the val split, not the test split, to
choose anything with it. Every other option is the quality benchmark's:

    python studies/chroma_gain/chroma_gain_probe.py --split val --in-process --baseline g1.0 \\
        --model g1.0=src/chromatic_charm/assets/generator.onnx@1.0 \\
        --model g1.4=src/chromatic_charm/assets/generator.onnx@1.4
"""
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))  # quality_benchmark
import quality_benchmark  # noqa: E402

from chromatic_charm import inference  # noqa: E402

_predict_ab = inference.Colorizer.predict_ab
_colorize_all = quality_benchmark.colorize_all
_gain = {"value": 1.0}


def _boosted(self, l_norm):
    return np.clip(_predict_ab(self, l_norm) * _gain["value"], -1.0, 1.0)


def _colorize_all_with_gain(model, grays, in_process):
    if not in_process:
        sys.exit("error: the gain is applied in this process: add --in-process")
    path, _, gain = model.partition("@")
    _gain["value"] = float(gain or 1.0)
    return _colorize_all(path, grays, in_process)


if __name__ == "__main__":
    inference.Colorizer.predict_ab = _boosted
    quality_benchmark.colorize_all = _colorize_all_with_gain
    sys.exit(quality_benchmark.main())
