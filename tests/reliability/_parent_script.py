"""A parent process for test_faults.py: runs a Multiprocessing env until it is killed.

Usage: ``python _parent_script.py '<json options>'`` with options
``fault`` (see _fault_envs.faulty_squared; default None), ``catch`` (True: on Ctrl-C close the
env, print ``CLOSED`` and exit 0; default False: let KeyboardInterrupt end the process) and
``hold_state`` (True: keep ``state()`` views of the shared worlds while stepping).

Prints ``READY <json list of worker pids>`` once the env is reset, then steps for ever.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

import pufferlib.vector  # noqa: E402
from _fault_envs import faulty_squared  # noqa: E402


def main():
    opts = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    fault = opts.get("fault")
    env = pufferlib.vector.make(faulty_squared, env_kwargs={"fault": None if fault is None else tuple(fault)},
                                backend="Multiprocessing", num_envs=2, num_workers=2, start_method="fork")
    env.reset(0)
    views = [env.state(i) for i in range(2)] if opts.get("hold_state") else []
    print("READY", json.dumps(env.pids), flush=True)
    actions = np.zeros(env.num_agents, np.int32)
    try:
        while True:
            env.step(actions)
    except KeyboardInterrupt:
        if not opts.get("catch"):
            raise
        del views
        env.close()
        print("CLOSED", flush=True)


if __name__ == "__main__":
    main()
