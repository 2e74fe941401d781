"""Distributed training: torchrun with 2 processes on the CPU (gloo), against a real MLflow server.

The same data and global batch (8 images per step) trained by one process and by two processes of 4
images each must agree: the samples, crops and flips are dealt identically, DDP averages the
gradients, and only BatchNorm differs (on CPUs each process normalises over its own 4 images;
SyncBatchNorm, which would make the two identical, exists for GPUs only). Stated tolerance: after 12
steps the generators' weights differ by less than 5% of their size (relative L2 norm of the
difference; measured 1.8%) and the validation L1 by less than 2% (measured: equal to 4 digits),
where two runs of different seeds differ by about 77% in weights (checked below, so the tolerance
is shown to be able to fail).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys

import pytest
import torch

from chromatic_charm.training import checkpoint

pytestmark = pytest.mark.slow

TORCHRUN = shutil.which("torchrun", path=os.path.dirname(sys.executable)) or shutil.which("torchrun")


def _train_cmd(clean_data, ckpt, batch, experiment, *extra):
    return ["train", "--data", str(clean_data), "--model-size", "tiny", "--image-size", "32",
            "--batch-size", str(batch), "--epochs", "2", "--device", "cpu", "--workers", "0", "--dropout", "0",
            "--checkpoint-dir", str(ckpt), "--experiment", experiment, "--log-every", "3", "--no-progress", *extra]


def _run(args, env, torchrun=False, timeout=400):
    prefix = ([TORCHRUN, "--standalone", "--nproc_per_node", "2", "-m", "chromatic_charm"] if torchrun
              else [sys.executable, "-m", "chromatic_charm"])
    return subprocess.run(prefix + args, env=env, capture_output=True, text=True, timeout=timeout)


def _relative_difference(a: dict, b: dict) -> float:
    num = sum(float((a[k].float() - b[k].float()).pow(2).sum()) for k in a if a[k].is_floating_point())
    den = sum(float(a[k].float().pow(2).sum()) for k in a if a[k].is_floating_point())
    return (num / den) ** 0.5


@pytest.fixture(scope="module")
def ddp_run(clean_data, mlflow_server, tmp_path_factory):
    """Two processes under torchrun, 12 steps of 4 images each (global batch 8), logged to a real MLflow
    server: compared below with one process, and with a run stopped and resumed under torchrun."""
    root = tmp_path_factory.mktemp("ddp-project")
    env = {**os.environ, "MLFLOW_TRACKING_URI": mlflow_server, "CHROMATIC_CHARM_ROOT": str(root),
           "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    done = _run(_train_cmd(clean_data, root / "ddp", 4, "ddp"), env, torchrun=True)
    assert done.returncode == 0, done.stderr[-3000:]
    return done, root / "ddp", env


@pytest.mark.skipif(TORCHRUN is None, reason="torchrun not installed")
def test_torchrun_two_processes_train_one_run_that_matches_a_single_process(clean_data, mlflow_server, tmp_path,
                                                                           ddp_run):
    ddp, ddp_dir, env = ddp_run
    # 48 training images, global batch 8: 6 steps per epoch, 12 in all.
    single = _run(_train_cmd(clean_data, tmp_path / "single", 8, "single"), env)
    assert single.returncode == 0, single.stderr[-3000:]

    # Both ranks trained, on different halves of the data.
    out = ddp.stdout
    assert "rank 0/2: 12 steps, 48 of 96 images" in out, out
    assert "rank 1/2: 12 steps, 48 of 96 images" in out, out
    assert out.count("MLflow run ") == 1 and out.count("epoch 2/2") == 1  # rank 0 alone reports

    # One MLflow run, written by rank 0, with the world recorded and the losses of every step.
    from mlflow.tracking import MlflowClient

    client = MlflowClient(mlflow_server)
    runs = client.search_runs([client.get_experiment_by_name("ddp").experiment_id])
    assert len(runs) == 1
    run = runs[0]
    assert run.info.status == "FINISHED"
    assert (run.data.params["world_size"], run.data.params["global_batch_size"], run.data.params["batch_size"]) == ("2", "8", "4")
    assert [m.step for m in client.get_metric_history(run.info.run_id, "loss_G_L1")] == list(range(1, 13))
    assert len(client.get_metric_history(run.info.run_id, "val_l1")) == 2
    # One checkpoint folder, written by rank 0, which knows the run, with the epochs' sample images.
    assert sorted(p.name for p in ddp_dir.iterdir()) == ["best.pt", "last.pt", "samples"]
    assert len(list((ddp_dir / "samples").glob("epoch_*.png"))) == 2

    a, b = checkpoint.load(tmp_path / "single" / "last.pt"), checkpoint.load(ddp_dir / "last.pt")
    assert (b["step"], b["epoch"], b["world_size"], b["run_id"]) == (12, 2, 2, run.info.run_id)
    weights = _relative_difference(a["generator"], b["generator"])
    assert weights < 0.05, f"DDP and single-process generators differ by {weights:.3f} (tolerance 0.05)"
    assert abs(a["val_l1"] - b["val_l1"]) < 0.02 * a["val_l1"], (a["val_l1"], b["val_l1"])

    # The tolerance can fail: another seed lands far away.
    other = _run(_train_cmd(clean_data, tmp_path / "seed1", 8, "single", "--seed", "1"), env)
    assert other.returncode == 0, other.stderr[-3000:]
    far = _relative_difference(a["generator"], checkpoint.load(tmp_path / "seed1" / "last.pt")["generator"])
    assert far > 10 * weights and far > 0.05


@pytest.mark.skipif(TORCHRUN is None, reason="torchrun not installed")
def test_torchrun_resume_continues_the_same_run_and_matches_an_uninterrupted_one(clean_data, tmp_path, ddp_run):
    _, straight, env = ddp_run  # 12 steps without a stop
    part = _run(_train_cmd(clean_data, tmp_path / "part", 4, "ddp-resume", "--max-steps", "4"), env, torchrun=True)
    assert part.returncode == 0, part.stderr[-3000:]
    mid = checkpoint.load(tmp_path / "part" / "last.pt")
    assert (mid["step"], mid["epoch"], mid["batch_in_epoch"]) == (4, 0, 4)
    # on to the uninterrupted run's 12 steps, past the first epoch's validation
    resumed = _run(["train", "--resume", str(tmp_path / "part"), "--max-steps", "12", "--no-progress"], env,
                   torchrun=True)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    a, b = checkpoint.load(straight / "last.pt"), checkpoint.load(tmp_path / "part" / "last.pt")
    assert b["step"] == 12 and b["run_id"] == mid["run_id"]
    for name, tensor in a["generator"].items():
        assert torch.allclose(tensor.float(), b["generator"][name].float(), atol=1e-5), f"generator.{name} differs"


def test_outside_torchrun_a_broken_world_is_a_clear_error(clean_data, tmp_path, isolated_project):
    env = {**os.environ, "CHROMATIC_CHARM_ROOT": str(isolated_project), "WORLD_SIZE": "2", "RANK": "5"}
    done = _run(_train_cmd(clean_data, tmp_path / "x", 4, "broken"), env, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        "chromatic-charm train: error: RANK 5 is outside a world of 2; start distributed training with torchrun")


@pytest.mark.skipif(TORCHRUN is None, reason="torchrun not installed")
def test_sigterm_to_torchrun_stops_every_rank_with_a_checkpoint_and_resume_goes_on(clean_data, tmp_path,
                                                                                  isolated_project):
    # A preemptible VM sends SIGTERM: torchrun passes it to both processes, which agree to stop
    # after the same step; rank 0 saves, nobody hangs waiting for the other.
    env = {**os.environ, "CHROMATIC_CHARM_ROOT": str(isolated_project), "OMP_NUM_THREADS": "1",
           "PYTHONUNBUFFERED": "1"}
    ckpt = tmp_path / "ckpt"
    args = _train_cmd(clean_data, ckpt, 4, "ddp-sigterm")
    args[args.index("--epochs") + 1] = "500"
    proc = subprocess.Popen([TORCHRUN, "--standalone", "--nproc_per_node", "2", "-m", "chromatic_charm", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    for line in proc.stdout:  # training has really started on both ranks once an epoch is done
        if "epoch 1/500" in line:
            break
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode != 0
    assert err.count("checkpoint saved in") == 2, err[-3000:]  # both ranks stopped cleanly, at the same step
    state = checkpoint.load(ckpt / "last.pt")
    assert state["step"] >= 6 and state["world_size"] == 2
    step = state["step"]
    assert err.count(f"at step {step};") == 2, err[-3000:]
    done = _run(["train", "--resume", str(ckpt), "--max-steps", str(step + 3), "--no-progress"], env, torchrun=True)
    assert done.returncode == 0, done.stderr[-3000:]
    after = checkpoint.load(ckpt / "last.pt")
    assert (after["step"], after["run_id"]) == (step + 3, state["run_id"])
