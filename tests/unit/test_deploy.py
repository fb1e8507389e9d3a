"""The deployment files are well formed and agree with the CLI (deploy/)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"


def test_the_indexed_job_gives_grade_its_share():
    job = yaml.safe_load((DEPLOY / "kubernetes" / "grade-job.yaml").read_text())
    spec = job["spec"]
    container = spec["template"]["spec"]["containers"][0]
    env = {item["name"]: item for item in container["env"]}
    assert spec["completionMode"] == "Indexed"
    assert env["JOB_COMPLETIONS"]["value"] == str(spec["completions"]), "JOB_COMPLETIONS != completions"
    command = container["command"]
    assert command[1:5] == ["-I", "-m", "autograder", "grade"] and "--shard" not in command
    assert command[command.index("--db-url") + 1] == "$(GRADEBOOK_URL)" and "GRADEBOOK_URL" in env


def test_the_batch_script_parses_and_refuses_a_missing_setting(tmp_path):
    script = DEPLOY / "slurm" / "grade.sbatch"
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    done = subprocess.run(["bash", str(script), "a1_conv1d"], capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin"}, cwd=tmp_path)
    assert done.returncode != 0 and "set COURSE_ROOT" in done.stderr


def test_the_chart_values_and_the_image_name_the_course_files():
    values = yaml.safe_load((DEPLOY / "kubernetes" / "z2jh-values.yaml").read_text())
    assert values["singleuser"]["image"]["name"] == "cnn-course-singleuser"
    dockerfile = (DEPLOY / "kubernetes" / "singleuser.Dockerfile").read_text()
    assert "make setup" in dockerfile and "bubblewrap" in dockerfile
    assert "cnn-course-singleuser" in dockerfile
