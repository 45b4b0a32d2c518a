"""Runs submitted to Dagster (the retrain route): the webserver's GraphQL API."""

from __future__ import annotations

from serving.core.errors import Message, Unavailable

DAGSTER_UNAVAILABLE = Message("Dagster at {url} did not accept the {job} run: {problem}. "
                              "Is the Dagster UI running (`make serve`)?")


class DagsterRuns:
    def __init__(self, host: str, port: int):
        self.host, self.port = host, port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def submit(self, job: str, tags: dict[str, str] | None = None) -> str:
        """Start a run of `job`; its run id. 503 naming the job and where Dagster was looked
        for when it does not accept the run."""
        from dagster_graphql import DagsterGraphQLClient

        client = DagsterGraphQLClient(self.host, port_number=self.port, timeout=10)
        try:
            return client.submit_job_execution(job, tags=tags or {})
        except Exception as e:  # GraphQL errors and transport errors alike: Dagster is not there
            raise Unavailable(DAGSTER_UNAVAILABLE.format(url=self.url, job=job, problem=e)) from None

    def run_url(self, run_id: str) -> str:
        return f"{self.url}/runs/{run_id}"
