"""Imported first in the grader's fork server (``sandbox.PRELOAD``), before torch.

- It makes the fork server a child subreaper (Linux ``PR_SET_CHILD_SUBREAPER``): a
  process that learner code started in a new session, or by a double fork, is
  re-parented here when its parent ends, instead of to init, so the sandbox finds and
  ends it when the run ends (``graders.processes.sweep``).
- It ignores Ctrl+C / a Jupyter "interrupt kernel" (SIGINT goes to the kernel's whole
  process group), which otherwise killed the fork server as it started or imported torch,
  with a KeyboardInterrupt traceback in the learner's cell; interrupts are for the
  learner's code in the kernel. (The sandbox starts it with SIGINT blocked, for the
  moments before this module runs.) Each run sets SIGINT back to its default.
- Reaping those re-parented processes makes ``multiprocessing`` warn about an
  "unexpected pid": expected here, so not shown.
- It moves to a folder that stays: the fork server starts in whatever folder its starter
  was in, and a notebook runs each exercise in a scratch folder that the next run deletes.
  In a deleted folder ``os.getcwd()`` fails, and importing torch's compiler (through
  Lightning) failed halfway with it, leaving ``torch._inductor`` half-initialised in every
  child ("partially initialized module 'torch._inductor'"). Each run then works in a
  folder of its own.
"""

import os
import signal
import tempfile
import warnings

from graders import processes

signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # blocked while it started (sandbox)
processes.become_subreaper()
warnings.filterwarnings("ignore", message=r"forkserver: waitpid returned unexpected pid")
os.chdir(tempfile.gettempdir())
