"""Fuzzing /colorize with hypothesis: whatever arrives, the answer is never a 5xx (except 503 busy)."""

import io

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from chromatic_charm.serving import create_app


@pytest.fixture(scope="module")
def client(onnx_model):
    app = create_app({"MODEL_PATH": onnx_model, "MAX_CONTENT_LENGTH": 1024 * 1024, "MAX_PIXELS": 2_000_000})
    return app.test_client()


def encoded(fmt: str, width: int, height: int, mode: str, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    image = Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)).convert(mode)
    data = io.BytesIO()
    image.save(data, fmt)
    return data.getvalue()


images = st.builds(encoded, st.sampled_from(["PNG", "JPEG", "BMP", "TIFF", "WEBP", "GIF"]),
                   st.integers(1, 80), st.integers(1, 80), st.sampled_from(["RGB", "L"]), st.integers(0, 1000))


def mutate(data: bytes, cut: int, flips: list[tuple[int, int]]) -> bytes:
    out = bytearray(data[: max(1, len(data) - cut)])
    for position, value in flips:
        out[position % len(out)] = value
    return bytes(out)


bodies = st.one_of(
    st.binary(max_size=2048),
    images,
    st.builds(mutate, images, st.integers(0, 200), st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)),
                                                            max_size=8)),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies, multipart=st.booleans(), field=st.sampled_from(["image", "image", "file"]),
       fmt=st.sampled_from([None, "png", "jpeg", "webp", "gif", "", "PNG"]),
       content_type=st.sampled_from(["image/png", "application/octet-stream", "text/plain", "image/jpeg"]))
def test_no_input_causes_a_server_error(client, body, multipart, field, fmt, content_type):
    query = "" if fmt is None else f"?format={fmt}"
    if multipart:
        response = client.post("/colorize" + query, data={field: (io.BytesIO(body), "x")})
    else:
        response = client.post("/colorize" + query, data=body, content_type=content_type)
    assert response.status_code < 500, response.data[:300]
    if response.status_code != 200:
        assert response.is_json and response.get_json()["error"]
