"""The `innsight` command line as a person runs it: a subprocess whose settings come from
its own environment (a copy, with INNSIGHT_HOME pointing at the test's folder), checked
against what the rest of the platform accepts."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import dagster as dg
import pytest

from base.settings import REPO_ROOT, ApiKey, Settings
from innsight.progress import Console
from innsight.run_progress import RunProgress
from serving.core.auth import ROLES, Authenticator, Unauthorized


def innsight(*args: str, cwd: Path, timeout: float = 300, **settings: str) -> subprocess.CompletedProcess:
    """Run `innsight ARGS` with INNSIGHT_* taken from ``settings`` only (none inherited);
    in ``cwd``, so no innsight.env of the repository is read."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("INNSIGHT_")}
    env.update({"OMP_WAIT_POLICY": "passive", "PYTHONPATH": str(REPO_ROOT),
                "INNSIGHT_HOME": str(cwd / "home")})
    env.update({f"INNSIGHT_{k.upper()}": v for k, v in settings.items()})
    return subprocess.run([sys.executable, "-m", "innsight.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_token_is_accepted_by_the_api_with_the_permissions_of_its_role(tmp_path):
    done = innsight("token", "--role", "revenue_manager", "--subject", "ana", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    token = done.stdout.strip()
    principal = Authenticator.from_settings(Settings(home=tmp_path / "home")).token(token)
    assert principal.subject == "ana"
    assert principal.roles == ("revenue_manager",)
    assert principal.permissions == ROLES["revenue_manager"]
    assert "admin" not in principal.permissions


def test_token_is_signed_with_the_secret_of_the_environment_it_runs_in(tmp_path):
    secret = "a-real-secret-of-this-environment-0123456789"
    token = innsight("token", "--role", "admin", cwd=tmp_path, jwt_secret=secret).stdout.strip()
    home = tmp_path / "home"
    assert Authenticator.from_settings(Settings(home=home, jwt_secret=secret)).token(token).subject
    with pytest.raises(Unauthorized, match="signature"):
        Authenticator.from_settings(Settings(home=home)).token(token)


def test_api_key_prints_a_key_and_the_entry_of_its_hash(tmp_path):
    done = innsight("api-key", "--name", "x", "--role", "service", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    key = re.fullmatch(r"key \(shown once; give it to x\): (isk_\S+)", lines[0]).group(1)
    entry = json.loads(lines[-1])
    assert entry == {"name": "x", "sha256": hashlib.sha256(key.encode()).hexdigest(),
                     "roles": ["service"]}
    # the entry, configured, lets the key in with the service role's permissions
    principal = Authenticator.from_settings(
        Settings(home=tmp_path / "home", api_keys=[ApiKey(**entry)])).api_key(key)
    assert (principal.subject, principal.permissions) == ("x", ROLES["service"])


def landing_files(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def rows_per_kind(files: dict[str, bytes]) -> dict[str, int]:
    """Data rows per file kind (bookings, folio, ...), over all its parts."""
    rows: dict[str, int] = {}
    for name, content in files.items():
        kind = Path(name).name.split("_chain")[0]
        lines = content.count(b"\n")
        rows[kind] = rows.get(kind, 0) + (lines - 1 if name.endswith(".csv") else lines)
    return rows


def test_generate_writes_the_counts_it_prints_and_the_same_bytes_for_the_same_seed(tmp_path):
    first = innsight("generate", "--bookings", "300", "--seed", "3", "--out", "tmp", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    printed = {kind: int(n.replace(",", "")) for kind, n in
               re.findall(r"^\s*(\w+): ([\d,]+)$", first.stdout, flags=re.MULTILINE)}
    files = landing_files(tmp_path / "tmp")
    assert printed["bookings"] == 300
    assert rows_per_kind(files) == printed
    assert {name.split("/")[0] for name in files} == {"pms", "attendance", "camera"}
    assert re.search(r"written to tmp in .* bookings/s\)$", first.stdout.strip())
    # progress: a line per landing file as it is published
    for name in files:
        assert name in first.stdout

    again = innsight("generate", "--bookings", "300", "--seed", "3", "--out", "tmp", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert landing_files(tmp_path / "tmp") == files


def test_production_profile_with_development_secrets_exits_naming_the_settings_to_set(tmp_path):
    done = innsight("token", "--role", "admin", cwd=tmp_path, profile="production")
    assert done.returncode != 0
    assert "INNSIGHT_JWT_SECRET" in done.stderr and "INNSIGHT_PSEUDONYM_KEY" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
    # one setting left at its default: only that one is named
    done = innsight("token", "--role", "admin", cwd=tmp_path, profile="production",
                    jwt_secret="a-real-secret-of-this-environment-0123456789",
                    vault_key="a-real-vault-key-0123456789", webhook_secret="a-real-webhook-secret-0123")
    assert done.returncode != 0
    assert "INNSIGHT_PSEUDONYM_KEY" in done.stderr and "INNSIGHT_JWT_SECRET" not in done.stderr
    # all set: the command runs
    done = innsight("token", "--role", "admin", cwd=tmp_path, profile="production",
                    jwt_secret="a-real-secret-of-this-environment-0123456789",
                    vault_key="a-real-vault-key-0123456789", webhook_secret="a-real-webhook-secret-0123",
                    pseudonym_key="a-real-pseudonymisation-key-0123456789")
    assert done.returncode == 0, done.stderr
    assert done.stdout.count(".") == 2  # a JWT: header.claims.signature


def test_output_of_the_process_and_its_children_goes_to_the_log_not_the_terminal(tmp_path):
    """What `innsight build` does with Dagster's event stream and dbt's output: file
    descriptors 1 and 2 (this process and its subprocesses) go to the log file; the
    person's lines go to the terminal."""
    script = textwrap.dedent("""
        import os, subprocess, sys, warnings
        from pathlib import Path
        from innsight.progress import output_to_log
        with output_to_log(Path(sys.argv[1])) as console:
            console.line("step one done")
            print("chatter from python")
            warnings.warn("a library warning")
            os.write(2, b"raw stderr\\n")
            subprocess.run(["echo", "a subprocess line"], check=True)
            console.line("step two done")
        print("after the block")
    """)
    log = tmp_path / "logs" / "run.log"
    done = subprocess.run([sys.executable, "-c", script, str(log)], cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "step one done\nstep two done\nafter the block\n"
    assert done.stderr == ""
    text = log.read_text()
    for line in ("chatter from python", "a library warning", "raw stderr", "a subprocess line"):
        assert line in text


def test_build_progress_reads_a_real_dagster_run(tmp_path):
    """The lines `innsight build` prints, from the events of a real (tiny) Dagster run:
    one line per single-asset step with its counts, a line per asset of a multi-asset
    step, the checks that did not pass, and the failed step with its error."""

    @dg.asset(key=["bronze", "rooms"], check_specs=[dg.AssetCheckSpec("contract", asset=["bronze", "rooms"])])
    def rooms():
        yield dg.MaterializeResult(metadata={"dagster/row_count": 1042, "files_ingested": 2,
                                             "rows_quarantined": 3})
        yield dg.AssetCheckResult(passed=False, check_name="contract",
                                  metadata={"rows_quarantined": 3, "share": 0.0029})

    @dg.multi_asset(specs=[dg.AssetSpec(["staging", "stg_a"], deps=[["bronze", "rooms"]]),
                           dg.AssetSpec(["staging", "stg_b"], deps=[["bronze", "rooms"]])])
    def dbt_like():
        yield dg.MaterializeResult(asset_key=["staging", "stg_a"], metadata={"Execution Duration": 1.5})
        yield dg.MaterializeResult(asset_key=["staging", "stg_b"], metadata={"dagster/row_count": 7})

    @dg.asset(deps=[["staging", "stg_b"]])
    def broken():
        raise ValueError("the marts file is locked")

    @dg.asset(deps=[broken])
    def downstream():
        return None

    defs = dg.Definitions(assets=[rooms, dbt_like, broken, downstream],
                          jobs=[dg.define_asset_job("all", selection=dg.AssetSelection.all())])
    job = defs.resolve_job_def("all")
    out = io.StringIO()
    progress = RunProgress(Console(out, live=False), total_steps=len(job.graph.nodes))
    with dg.DagsterInstance.ephemeral() as instance:
        run_id = "0f6e3c3e-0000-4000-8000-000000000001"
        instance.add_event_listener(run_id, progress)
        result = job.execute_in_process(instance=instance, run_id=run_id, raise_on_error=False)
    assert not result.success
    lines = out.getvalue().splitlines()
    assert re.fullmatch(r"  ! check bronze/rooms:contract did not pass \(error\): "
                        r"rows_quarantined 3, share 0\.0029", lines[0])
    assert re.fullmatch(r"\[ 1/4\] bronze/rooms +1,042 rows, 2 files, 3 quarantined +\d+\.\d s", lines[1])
    assert re.fullmatch(r" +staging/stg_a +1\.5 s", lines[2])
    assert re.fullmatch(r" +staging/stg_b +7 rows +\d+\.\d s", lines[3])
    assert re.fullmatch(r"\[ 2/4\] dbt_like done \(2 assets\) in \d+\.\d s", lines[4])
    assert re.fullmatch(r"\[ 3/4\] broken FAILED in \d+\.\d s", lines[5])
    assert "the marts file is locked" in lines[6]
    assert len(lines) == 7  # the step after the failed one does not run
    s = progress.summary
    assert (s.steps_done, progress.not_run, s.assets, s.checks, s.checks_failed, s.steps_failed) == (
        3, 1, 3, 1, ["bronze/rooms:contract"], ["broken"])


# What the Overview timeline asks of the runs it draws (useRunsForTimeline.tsx): a run
# without a repositoryOrigin is left out.
TIMELINE_QUERY = """
query Timeline($filter: RunsFilter!) {
  runsOrError(filter: $filter) {
    ... on Runs { results { id pipelineName tags { key value }
                            repositoryOrigin { repositoryName repositoryLocationName } } }
  }
}"""


@pytest.mark.slow
def test_build_is_a_tagged_run_of_the_code_location_with_row_counts_on_the_marts(tmp_path):
    """`innsight build` as `make up` runs it (here the lakehouse job, on a small landing):
    its run is on the UI's timeline, under the code location, tagged with what started it;
    every mart's materialisation reports the rows the published file holds."""
    import duckdb
    from dagster._core.instance.ref import InstanceRef
    from dagster._core.workspace.context import WorkspaceProcessContext
    from dagster._core.workspace.load_target import EmptyWorkspaceTarget
    from dagster_graphql.test.utils import execute_dagster_graphql

    from lake.synthetic import generate_chain
    from tests.conftest import drop, extract_lines

    home = tmp_path / "home"
    drop(home, "pms", "hotel_bookings_sample.csv", "\n".join(extract_lines()[::40]) + "\n")
    generate_chain(home / "landing", bookings=400, seed=5)
    done = innsight("build", "--no-seed", "--job", "build_lakehouse", cwd=tmp_path, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    settings = Settings(home=home)

    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(settings.dagster_home))) as instance:
        [record] = instance.get_run_records()
        run = record.dagster_run
        assert run.tags["innsight/trigger"] == "innsight build"
        # the runs list's code-location filter
        by_location = instance.get_run_records(
            dg.RunsFilter(tags={".dagster/repository": "__repository__@innsight"}))
        assert [r.dagster_run.run_id for r in by_location] == [run.run_id]
        with WorkspaceProcessContext(instance, EmptyWorkspaceTarget()) as workspace:
            answer = execute_dagster_graphql(workspace.create_request_context(), TIMELINE_QUERY,
                                             {"filter": {"runIds": [run.run_id]}})
        [shown] = answer.data["runsOrError"]["results"]
        assert shown["pipelineName"] == "build_lakehouse"
        assert shown["repositoryOrigin"] == {"repositoryName": "__repository__",
                                             "repositoryLocationName": "innsight"}

        with duckdb.connect(str(settings.marts_path), read_only=True) as marts:
            tables = [t for (t,) in marts.execute(
                "select table_name from duckdb_tables() where schema_name = 'main'").fetchall()]
            assert len(tables) >= 10
            for table in tables:
                event = instance.get_latest_materialization_event(dg.AssetKey(["marts", table]))
                reported = event.asset_materialization.metadata["dagster/row_count"].value
                assert reported == marts.execute(f"select count(*) from {table}").fetchone()[0], table
