"""The OpenAPI 3 description of the API, served at /openapi.json."""

from __future__ import annotations

from ..config import OUTPUT_FORMATS
from ..hints import MAX_HINTS


HINTS_DESCRIPTION = (
    f"Optional colour hints, JSON: a list of at most {MAX_HINTS} objects {{\"x\": number, \"y\": number, "
    "\"color\": \"#rrggbb\", \"radius\": number (optional, default 0)}}. x and y are pixels of the uploaded photo "
    "as displayed (EXIF orientation applied; x to the right, y down, from 0); radius in photo pixels. Each hint "
    "gives its region that colour's hue and chroma at the photo's own lightness there. Only for a model that takes "
    "hints (GET /model: \"hints\": true). Send them as the multipart field 'hints', as a multipart file part "
    "(curl -F hints=@hints.json), or, with a raw-body upload, in the query string (?hints=...); once.")


def _error(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def spec(config: dict) -> dict:
    image_types = ["image/jpeg", "image/png", "image/webp", "image/bmp", "image/tiff", "application/octet-stream"]
    return {
        "openapi": "3.0.3",
        "info": {"title": "Chromatic Charm", "version": "1",
                 "description": "Colourise black-and-white photos: POST a photo, get it back in colour, same size."},
        "paths": {
            "/colorize": {"post": {
                "summary": "Colourise a photo",
                "parameters": [{"name": "format", "in": "query", "required": False,
                                "schema": {"type": "string", "enum": list(OUTPUT_FORMATS), "default": "png"}},
                               {"name": "hints", "in": "query", "required": False, "schema": {"type": "string"},
                                "description": HINTS_DESCRIPTION}],
                "requestBody": {"required": True, "content": {
                    "multipart/form-data": {"schema": {"type": "object", "required": ["image"], "properties": {
                        "image": {"type": "string", "format": "binary"},
                        "hints": {"type": "string", "description": HINTS_DESCRIPTION,
                                  "example": '[{"x": 120, "y": 45, "color": "#c0392b"}]'},
                    }}},
                    **{t: {"schema": {"type": "string", "format": "binary"}} for t in image_types},
                }},
                "responses": {
                    "200": {"description": "the colour photo, same size as the input",
                            "headers": {
                                "X-Image-Size": {"schema": {"type": "string"}, "description": "WIDTHxHEIGHT"},
                                "X-Input-Colour": {"schema": {"type": "string", "enum": ["yes", "no"]},
                                                   "description": "yes: the upload already had colour (it is "
                                                                  "recoloured from its lightness)"}},
                            "content": {t: {"schema": {"type": "string", "format": "binary"}}
                                        for t in ("image/png", "image/jpeg", "image/webp")}},
                    "400": _error("no image, a corrupt image, a bad parameter, or a bad hint (the message names "
                                  "the hint, from 0, and says why), or hints for a model that takes none"),
                    "413": _error(f"over {config['MAX_CONTENT_LENGTH']} bytes or {config['MAX_PIXELS']} pixels"),
                    "415": _error("not an image format the service reads"),
                    "503": _error("busy (retry after the Retry-After header's seconds), or the model could not be "
                                  "loaded (the message says why; /ready says the same)"),
                },
            }},
            "/health": {"get": {"summary": "Liveness", "responses": {"200": {"description": "alive"}}}},
            "/ready": {"get": {"summary": "Model loaded and warmed up",
                               "responses": {"200": {"description": "ready"}, "503": _error("the model could not be loaded or warmed up; the message says why")}}},
            "/model": {"get": {"summary": "The served model: name, its source (the MLflow reference it was exported from), run id, metrics, training data and parameters",
                               "responses": {"200": {"description": "model metadata",
                                                     "content": {"application/json": {"schema": {"type": "object"}}}},
                                             "503": _error("the model could not be loaded")}}},
            "/suggestions": {"get": {
                "summary": "Hint colours to offer at a point: the training photos' most common colours at its lightness, "
                           "then a grey, each as the sRGB colour a hint of it gives there",
                "parameters": [
                    {"name": "pixel", "in": "query", "schema": {"type": "string", "example": "#8a8a8a"},
                     "description": "the photo's colour at the point, #rrggbb (give this or lightness)"},
                    {"name": "lightness", "in": "query", "schema": {"type": "number", "minimum": 0, "maximum": 100},
                     "description": "the point's L* (give this or pixel)"}],
                "responses": {"200": {"description": "{lightness, colors: [{color, name, a, b, share}], source}",
                                      "content": {"application/json": {"schema": {"type": "object"}}}},
                              "400": _error("neither or both of pixel and lightness, or a value that is not a colour or an L*"),
                              "503": _error("the model could not be loaded")}}},
        },
        "components": {"schemas": {"Error": {"type": "object", "required": ["error", "status"],
                                             "properties": {"error": {"type": "string"}, "status": {"type": "integer"}}}}},
    }
