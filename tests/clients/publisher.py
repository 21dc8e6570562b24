"""A patient app's stand-in, run as its own process so a test can SIGKILL it mid-stream:
``python -m tests.clients.publisher URL TOKEN OUTBOX COUNT`` queues COUNT exercises, prints
``queued`` and keeps sending, in small batches, until it is killed."""

from __future__ import annotations

import asyncio
import sys

from clients.session import SessionClient
from tests.clients.processes import exercises


async def main(url: str, token: str, outbox: str, count: int) -> None:
    async with SessionClient(url, token, outbox=outbox, max_batch_events=10) as client:
        await client.publish_many(list(exercises("p1", count)))
        print("queued", flush=True)
        await client.flush()
        print("flushed", flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])))
