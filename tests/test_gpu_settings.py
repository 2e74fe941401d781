"""Settings for the GPUs our users have (Colab's T4, A100, L4) and runs that move between machines.

No GPU exists here or in CI: where a test needs a CUDA device's answer, it fakes torch's query for
it (the compute capability, the RNG setter) and says so; everything else runs for real on the CPU.
"""

from __future__ import annotations

import shutil
from dataclasses import replace

import pytest
import torch

from chromatic_charm.training import checkpoint
from chromatic_charm.training.loop import autocast_dtype, restore_cuda_rng, train


@pytest.mark.parametrize("capability,expected", [
    ((7, 5), torch.float16),  # T4 (Colab's free GPU): fp16 + loss scaling; cuDNN has no bf16 convolutions
    ((7, 0), torch.float16),  # V100
    ((8, 0), torch.bfloat16),  # A100
    ((8, 9), torch.bfloat16),  # L4
    ((9, 0), torch.bfloat16),  # H100
])
def test_amp_auto_follows_the_compute_capability(monkeypatch, capability, expected):
    # Faked: torch's answer for a CUDA device. is_bf16_supported() says True on a T4 (it counts
    # emulation); the choice must not rest on it.
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert autocast_dtype("auto", torch.device("cuda", 0)) == expected


def test_amp_choices_on_the_cpu_and_when_forced(monkeypatch):
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (7, 5))
    assert autocast_dtype("auto", torch.device("cpu")) is None  # the CPU stays fp32 unless asked
    assert autocast_dtype("bf16", torch.device("cpu")) == torch.bfloat16
    assert autocast_dtype("bf16", torch.device("cuda", 0)) == torch.bfloat16  # the user's explicit choice
    assert autocast_dtype("off", torch.device("cuda", 0)) is None


def test_cuda_rng_is_restored_for_this_device_only(monkeypatch):
    # Faked: the CUDA RNG setter (no GPU here). An 8-GPU checkpoint of the old format holds one state
    # per GPU; resumed on one GPU (cuda:0) or as rank 3 (cuda:3), each takes its own and no other.
    states = [torch.full((16,), i, dtype=torch.uint8) for i in range(8)]
    calls = []
    monkeypatch.setattr(torch.cuda, "set_rng_state", lambda state, device="cuda": calls.append((state, device)))
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    assert restore_cuda_rng(states, torch.device("cuda", 0))
    assert restore_cuda_rng(states, torch.device("cuda"))  # no index: the current device
    assert restore_cuda_rng(states, torch.device("cuda", 3))
    assert [(int(s[0]), str(d)) for s, d in calls] == [(0, "cuda:0"), (0, "cuda"), (3, "cuda:3")]
    assert not restore_cuda_rng(states[:1], torch.device("cuda", 1))  # no state for that GPU: left as seeded
    assert restore_cuda_rng(states[5], torch.device("cuda", 0))  # the new format: this device's state
    assert not restore_cuda_rng(states, torch.device("cpu"))  # nothing to restore on the CPU
    assert len(calls) == 4


def test_a_checkpoint_from_8_gpus_resumes_on_a_machine_with_fewer(tiny_config, tmp_path, monkeypatch):
    part = train(replace(tiny_config, epochs=2, max_steps=3, checkpoint_dir=str(tmp_path / "gpu-box")), progress=False)
    state = checkpoint.load(part.checkpoint)
    # what an 8-GPU machine wrote before: torch.cuda.get_rng_state_all(), one state per GPU
    state["rng_cuda"] = [torch.full((16,), i, dtype=torch.uint8) for i in range(8)]
    state["world_size"] = 8
    checkpoint.save_atomic(state, part.checkpoint)
    # on this machine (the CPU): the run goes on
    resumed = train(replace(tiny_config, epochs=2, max_steps=6), resume=part.checkpoint, progress=False)
    assert resumed.run_id == part.run_id and resumed.steps == 6
    # on one GPU (faked: the CUDA RNG setter and a 1-GPU machine, none here): the file's states restore
    # the GPU's own entry, where set_rng_state_all (8 states for 1 GPU) raised before
    calls = []
    monkeypatch.setattr(torch.cuda, "set_rng_state", lambda s, device="cuda": calls.append((int(s[0]), str(device))))
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert restore_cuda_rng(checkpoint.load(part.checkpoint)["rng_cuda"], torch.device("cuda", 0))
    assert calls == [(0, "cuda:0")]


def test_resume_takes_paths_and_hardware_from_the_current_command(tiny_config, clean_data, tmp_path):
    # Started "on Colab": its own data and checkpoint folders, bf16, 2 loader threads...
    colab_data = shutil.copytree(clean_data, tmp_path / "content" / "data")
    colab = replace(tiny_config, data_dir=str(colab_data), checkpoint_dir=str(tmp_path / "content" / "ckpt"),
                    lr_g=3e-4, epochs=2, max_steps=3, amp="bf16", num_workers=2, compile=False)
    part = train(colab, progress=False)
    # ...then copied to a workstation: Colab's folders are gone; the checkpoint lives elsewhere now.
    here = tmp_path / "workstation" / "run"
    here.mkdir(parents=True)
    shutil.copy(part.checkpoint, here / "last.pt")
    shutil.rmtree(tmp_path / "content")
    command = replace(tiny_config, data_dir=str(clean_data), checkpoint_dir=None, amp="off", num_workers=0,
                      epochs=1, max_steps=6)
    resumed = train(command, resume=here, progress=False,  # the flags the workstation's command gives
                    given=("data_dir", "checkpoint_dir", "amp", "num_workers", "max_steps"))
    assert resumed.run_id == part.run_id and resumed.steps == 6
    assert resumed.checkpoint == here / "last.pt"  # where it was resumed from, not Colab's folder
    saved = checkpoint.load(resumed.checkpoint)["train_config"]
    assert (saved["data_dir"], saved["amp"], saved["num_workers"]) == (str(clean_data), "off", 0)
    assert saved["checkpoint_dir"] == str(here)
    assert (saved["lr_g"], saved["epochs"]) == (3e-4, 2)  # the run's own settings are kept
    assert not (tmp_path / "content").exists()


def test_adam_kernel_is_this_machines_choice_on_resume(tiny_config, tmp_path):
    part = train(replace(tiny_config, epochs=2, max_steps=3, fused_adam=False, checkpoint_dir=str(tmp_path / "a")),
                 progress=False)
    assert checkpoint.load(part.checkpoint)["opt_g"]["param_groups"][0]["fused"] in (None, False)
    resumed = train(replace(tiny_config, epochs=2, max_steps=6, fused_adam=True), resume=part.checkpoint,
                    progress=False)
    assert resumed.steps == 6
    assert checkpoint.load(resumed.checkpoint)["opt_g"]["param_groups"][0]["fused"] is True


def test_resume_in_a_store_without_the_run_stops_with_one_line(tiny_config, tmp_path, monkeypatch):
    part = train(replace(tiny_config, max_steps=2, checkpoint_dir=str(tmp_path / "a")), progress=False)
    other = tmp_path / "elsewhere"  # another machine's local store, which never saw the run
    other.mkdir()
    monkeypatch.setenv("CHROMATIC_CHARM_ROOT", str(other))
    from chromatic_charm.errors import UserError

    with pytest.raises(UserError, match=f"the checkpoint's run {part.run_id} must be in this store") as err:
        train(replace(tiny_config, max_steps=4), resume=part.checkpoint, progress=False)
    assert len(str(err.value).splitlines()) == 1


def test_device_auto_and_bad_devices():
    from chromatic_charm.devices import resolve_device
    from chromatic_charm.errors import UserError

    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(UserError, match="unknown device 'gpu0'"):
        resolve_device("gpu0")
    if not torch.cuda.is_available():
        with pytest.raises(UserError, match="no CUDA GPU is available; use --device cpu"):
            resolve_device("cuda:1")
