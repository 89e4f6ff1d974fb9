"""The Neural MMO API: NeuralMMO, a PettingZoo ParallelEnv over one Neural MMO 3 world."""
import warnings

import gymnasium
import numpy as np
import pytest
from pettingzoo.test import parallel_api_test, parallel_seed_test

from pufferlib import APIUsageError
from pufferlib.ocean.nmmo3 import NeuralMMO
from pufferlib.ocean.nmmo3.constants import A_NOOP, REWARD_TERMS
from pufferlib.ocean.nmmo3.pettingzoo import (COMBAT_TASK, DEFAULT_TASK, PROFESSION_TASK, STATE_CHANNELS,
                                              SURVIVAL_TASK, TASKS, Task)

SMALL = NeuralMMO.test_config()
N = SMALL["num_players"]


def make(**kwargs):
    return NeuralMMO(**{"horizon": 1024, **SMALL, **kwargs})


def random_actions(penv, rng):
    return {agent: int(rng.integers(26)) for agent in penv.agents}


def snapshot(penv):
    return penv.game.state(0, copy=True)


def same_state(a, b):
    return all(np.array_equal(a[k], b[k]) for k in a)


def flat(ob):
    return np.concatenate([ob["map"].ravel(), ob["player"], ob["reward"]])


def same_obs(o1, o2):
    return o1.keys() == o2.keys() and all(
        np.array_equal(o1[a][k], o2[a][k]) for a in o1 for k in ("map", "player", "reward", "task"))


# ---- PettingZoo's own tests ---------------------------------------------------------------------

def test_parallel_api_test_passes_without_warnings():
    penv = make(horizon=40)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        parallel_api_test(penv, num_cycles=60)   # reaches the horizon: every agent truncated
    assert [str(w.message) for w in caught] == []
    penv.close()


def test_parallel_seed_test_passes():
    parallel_seed_test(lambda: make(horizon=30), num_cycles=50)


# ---- agents, keys, spaces -------------------------------------------------------------------------

def test_agents_spaces_and_metadata():
    penv = make()
    assert penv.possible_agents == list(range(1, N + 1))
    assert penv.agents == [] and penv.num_agents == 0 and penv.max_num_agents == N
    assert penv.metadata["name"] == "neural-mmo"
    assert set(penv.metadata["render_modes"]) == {"rgb_array", "ansi"} == set(penv.metadata["render.modes"])
    space = penv.observation_space(1)
    assert isinstance(space, gymnasium.spaces.Dict)
    assert space["map"] == gymnasium.spaces.Box(0, 255, (11, 15, 10), np.uint8)
    assert space["player"] == gymnasium.spaces.Box(0, 255, (47,), np.uint8)
    assert space["reward"] == gymnasium.spaces.Box(0, 255, (10,), np.uint8)
    assert space["task"].shape == (16,) and space["task"].dtype == np.float32
    assert all(penv.observation_space(a) is space for a in penv.possible_agents)
    assert penv.action_space(1) == gymnasium.spaces.Discrete(26)
    assert penv.action_space(1) is penv.action_space(1) and penv.action_space(1) is not penv.action_space(2)
    for bad in (0, N + 1, "1", 1.0, True):
        with pytest.raises(APIUsageError, match="unknown agent"):
            penv.observation_space(bad)
        with pytest.raises(APIUsageError, match="unknown agent"):
            penv.action_space(bad)

    obs, infos = penv.reset(seed=1)
    assert penv.agents == penv.possible_agents and penv.num_agents == N
    assert list(obs) == list(infos) == penv.possible_agents and all(i == {} for i in infos.values())
    for i, agent in enumerate(penv.agents):
        assert space.contains(obs[agent])
        # the Dict is a view of the game's own 1707 observation bytes
        assert np.array_equal(flat(obs[agent]), penv.game.observations[i])
    obs, rew, term, trunc, infos = penv.step({})
    for d in (obs, rew, term, trunc, infos):
        assert list(d) == penv.possible_agents
    assert all(isinstance(r, float) for r in rew.values())
    assert not any(term.values()) and not any(trunc.values())
    penv.close()


def test_observations_stay_valid_after_later_steps():
    penv = make()
    obs, _ = penv.reset(seed=2)
    kept = {a: flat(o).copy() for a, o in obs.items()}
    rng = np.random.default_rng(0)
    for _ in range(5):
        penv.step(random_actions(penv, rng))
    assert all(np.array_equal(flat(obs[a]), kept[a]) for a in obs)
    assert not np.array_equal(np.stack(list(kept.values())), penv.game.observations)


def test_window_size_follows_the_game_config():
    penv = make(x_window=6, y_window=8, width=56, height=48)
    assert penv.observation_space(1)["map"].shape == (17, 13, 10)
    obs, _ = penv.reset(seed=0)
    assert obs[3]["map"].shape == (17, 13, 10)
    assert np.array_equal(flat(obs[3]), penv.game.observations[2])


# ---- actions -------------------------------------------------------------------------------------

def test_absent_agents_act_noop():
    a, b = make(), make()
    a.reset(seed=5)
    b.reset(seed=5)
    rng = np.random.default_rng(1)
    for t in range(60):
        partial = {agent: int(rng.integers(26)) for agent in (1, 4) if rng.random() < 0.8}
        explicit = {agent: partial.get(agent, A_NOOP) for agent in b.agents}
        out_a, out_b = a.step(partial), b.step(explicit)
        assert same_obs(out_a[0], out_b[0]), t
        assert out_a[1:] == out_b[1:], t
    assert same_state(snapshot(a), snapshot(b))


def test_actions_accept_numpy_ints_and_impossible_actions_do_nothing_harmful():
    penv = make()
    penv.reset(seed=3)
    penv.step({1: np.int64(2), 2: np.int32(5), 3: np.array(20), 4: np.uint8(6), 5: 7, 6: 17})
    assert penv.steps == 1 and int(penv.game.state(0)["tick"]) == 1


@pytest.mark.parametrize("actions, match", [
    ({1: 26}, r"in \[0, 26\)"),
    ({1: -1}, r"in \[0, 26\)"),
    ({1: 0, 2: 99}, r"in \[0, 26\)"),          # a valid entry does not get applied either
    ({1: 2.0}, "must be an int"),
    ({1: "2"}, "must be an int"),
    ({1: None}, "must be an int"),
    ({1: True}, "must be an int"),
    ({1: np.array([1])}, "must be an int"),
    ({1: np.float32(1)}, "must be an int"),
    ({0: 1}, "unknown agent"),
    ({N + 1: 1}, "unknown agent"),
    ({"1": 1}, "unknown agent"),
    ({1.0: 1}, "unknown agent"),
    ([1, 2, 3], "must be a dict"),
    (np.zeros(N, np.int32), "must be a dict"),
])
def test_malformed_actions_raise_and_step_nothing(actions, match):
    penv = make()
    penv.reset(seed=4)
    penv.step({1: 0})
    before = snapshot(penv)
    with pytest.raises(APIUsageError, match=match):
        penv.step(actions)
    after = snapshot(penv)
    assert int(after["tick"]) == int(before["tick"]) == 1 and penv.steps == 1
    assert same_state(before, after)
    penv.step({})   # still usable
    assert int(penv.game.state(0)["tick"]) == 2


def test_step_before_reset_after_horizon_and_after_close_raise():
    penv = make(horizon=3)
    with pytest.raises(APIUsageError, match="reset"):
        penv.step({})
    penv.reset(seed=0)
    for _ in range(3):
        penv.step({})
    with pytest.raises(APIUsageError, match="horizon"):
        penv.step({})
    penv.close()
    penv.close()   # idempotent
    for call in (lambda: penv.step({}), lambda: penv.reset(), penv.state,
                 lambda: penv.change_task([DEFAULT_TASK])):
        with pytest.raises(APIUsageError, match="closed"):
            call()


# ---- horizon ---------------------------------------------------------------------------------------

def test_horizon_truncates_everyone():
    penv = make(horizon=7)
    penv.reset(seed=6)
    rng = np.random.default_rng(2)
    for t in range(1, 8):
        obs, rew, term, trunc, infos = penv.step(random_actions(penv, rng))
        assert not any(term.values())
        assert set(trunc) == set(penv.possible_agents)
        if t < 7:
            assert not any(trunc.values()) and penv.agents == penv.possible_agents
    assert all(trunc.values()) and penv.agents == [] and penv.num_agents == 0
    assert set(obs) == set(rew) == set(infos) == set(penv.possible_agents)
    obs, _ = penv.reset()
    assert penv.agents == penv.possible_agents and penv.steps == 0
    penv.step({})
    assert penv.steps == 1


# ---- maps and seeds ---------------------------------------------------------------------------------

def test_map_id_is_reproducible_and_distinct():
    penv = make()
    worlds = {}
    for map_id in (0, 1, 2, 7):
        obs, _ = penv.reset(map_id=map_id)
        worlds[map_id] = (snapshot(penv), obs)
    again = make(seed=99)
    obs, _ = again.reset(map_id=7)
    assert same_state(snapshot(again), worlds[7][0]) and same_obs(obs, worlds[7][1])
    terrains = [w[0]["terrain"] for w in worlds.values()]
    assert all(not np.array_equal(terrains[i], terrains[j]) for i in range(4) for j in range(i))
    # map ids and seeds name different worlds
    penv.reset(seed=7)
    assert not np.array_equal(snapshot(penv)["terrain"], worlds[7][0]["terrain"])


def test_map_id_with_seed_keeps_the_map_and_seeds_the_dynamics():
    def run(seed):
        penv = make(teleportitis_prob=0.05)
        penv.reset(map_id=3, seed=seed)
        start = snapshot(penv)
        for _ in range(30):
            penv.step({})
        return start, snapshot(penv)

    s1, e1 = run(10)
    s1b, e1b = run(10)
    s2, e2 = run(11)
    assert same_state(s1, s1b) and same_state(e1, e1b)
    assert same_state(s1, s2)                      # the same map and initial population
    assert not np.array_equal(e1["entities"], e2["entities"])   # different dynamics


def test_seeded_determinism():
    def trajectory(penv, **reset_kwargs):
        rng = np.random.default_rng(3)
        obs, _ = penv.reset(**reset_kwargs)
        out = [obs]
        for _ in range(40):
            out.append(penv.step(random_actions(penv, rng)))
        return out, snapshot(penv)

    def equal(t1, t2):
        (tr1, s1), (tr2, s2) = t1, t2
        return same_obs(tr1[0], tr2[0]) and same_state(s1, s2) and all(
            same_obs(x[0], y[0]) and x[1:] == y[1:] for x, y in zip(tr1[1:], tr2[1:]))

    a, b = make(seed=12), make(seed=12)
    assert equal(trajectory(a, seed=5), trajectory(b, seed=5))
    assert equal(trajectory(a, seed=5), trajectory(a, seed=5))
    # a seed gives the world NMMO3(num_envs=1, seed=seed) builds
    from pufferlib.ocean.nmmo3 import NMMO3
    game = NMMO3(num_envs=1, seed=5, **SMALL)
    game.reset(5)
    a.reset(seed=5)
    assert np.array_equal(game.observations, a.game.observations)
    # unseeded resets follow the constructor seed, and differ from each other
    c, d = make(seed=12), make(seed=12)
    assert equal(trajectory(c), trajectory(d))
    first = snapshot(c)["terrain"]
    c.reset()
    assert not np.array_equal(first, snapshot(c)["terrain"])
    assert not equal(trajectory(make(seed=12)), trajectory(make(seed=13)))


def test_reset_argument_errors():
    penv = make()
    for kwargs in ({"seed": -1}, {"seed": 1.5}, {"seed": 2**62 + 1}, {"map_id": -3}, {"map_id": "a"},
                   {"options": 3}):
        with pytest.raises(APIUsageError):
            penv.reset(**kwargs)
    penv.reset(seed=0, options={"anything": 1})


# ---- tasks --------------------------------------------------------------------------------------------

def player_deaths(penv, step_actions):
    n = penv.max_num_agents
    hp = penv.game.state(0)["entities"]["hp"][:n].copy()
    out = penv.step(step_actions)
    now = penv.game.state(0)["entities"]["hp"][:n]
    return out, ((hp > 0) & (now == 0)).astype(np.float64)


def test_default_task_gives_the_game_reward():
    penv = make()
    penv.reset(seed=8)
    assert all(t is DEFAULT_TASK for t in penv.tasks.values())
    rng = np.random.default_rng(4)
    for _ in range(200):
        _, rew, *_ = penv.step(random_actions(penv, rng))
        np.testing.assert_allclose([rew[a] for a in penv.possible_agents], penv.game.rewards, rtol=1e-6, atol=1e-6)


def fighting_actions(penv, rng):
    """Moves and attacks: players kill enemies (combat levels) and die."""
    return {agent: int(rng.choice([0, 1, 2, 3, 5, 5, 5])) for agent in penv.agents}


def test_death_only_task_rewards_minus_one_per_death():
    penv = make(horizon=10**6)
    obs, _ = penv.change_task([SURVIVAL_TASK], seed=9)
    assert all(t is SURVIVAL_TASK for t in penv.tasks.values())
    rng = np.random.default_rng(5)
    deaths_seen = other_rewards_seen = 0
    for _ in range(2000):
        (obs, rew, *_), deaths = player_deaths(penv, fighting_actions(penv, rng))
        assert [rew[a] for a in penv.possible_agents] == (-1.0 * deaths).tolist()
        deaths_seen += deaths.sum()
        other_rewards_seen += np.count_nonzero(penv.game.rewards + deaths)   # game reward minus the death term
        if deaths_seen and other_rewards_seen:
            break
    assert deaths_seen and other_rewards_seen   # the task did leave out rewards the game gave


def test_task_weights_scale_the_terms():
    custom = Task("custom", {"death": 2.5, "comb_lvl": 0.5, "item_tool": 3.0})
    penv = make(horizon=10**6)
    penv.change_task([custom], seed=10)
    rng = np.random.default_rng(6)
    deaths_seen = levels_seen = 0
    for _ in range(2000):
        (_, rew, *_), deaths = player_deaths(penv, fighting_actions(penv, rng))
        players = penv.game.players[0]
        expect = -2.5 * deaths + 0.5 * players["t_comb_lvl"] + 3.0 * players["t_item_tool"]
        np.testing.assert_allclose([rew[a] for a in penv.possible_agents], expect, rtol=1e-6)
        deaths_seen += deaths.sum()
        levels_seen += np.count_nonzero(players["t_comb_lvl"])
        if deaths_seen and levels_seen:
            break
    assert deaths_seen and levels_seen


def test_task_sampling_is_weighted_and_seeded():
    penv = make(num_players=40, width=64, height=64)
    penv.change_task([(COMBAT_TASK, 1.0), (PROFESSION_TASK, 0.0), (SURVIVAL_TASK, 3.0)], seed=1)
    first = dict(penv.tasks)
    assert set(first.values()) == {COMBAT_TASK, SURVIVAL_TASK}
    penv.change_task([(COMBAT_TASK, 1.0), (PROFESSION_TASK, 0.0), (SURVIVAL_TASK, 3.0)], seed=1)
    assert penv.tasks == first
    penv.change_task([(COMBAT_TASK, 1.0), (PROFESSION_TASK, 0.0), (SURVIVAL_TASK, 3.0)], seed=2)
    assert penv.tasks != first
    # rewards follow each agent's own task
    rng = np.random.default_rng(7)
    for _ in range(300):
        (_, rew, *_), deaths = player_deaths(penv, fighting_actions(penv, rng))
        players = penv.game.players[0]
        for agent in penv.possible_agents:
            task = penv.tasks[agent]
            expect = -deaths[agent - 1] if task is SURVIVAL_TASK else float(players["t_comb_lvl"][agent - 1])
            assert rew[agent] == pytest.approx(expect)


def test_task_embedding_appears_in_observations():
    penv = make()
    obs, _ = penv.reset(seed=0)
    default = np.zeros(16, np.float32)
    default[:len(REWARD_TERMS)] = [DEFAULT_TASK.weights.get(t, 0.0) for t in REWARD_TERMS]
    assert all(np.array_equal(o["task"], default) for o in obs.values())
    mine = np.arange(16, dtype=np.float32) / 7
    obs, _ = penv.change_task([COMBAT_TASK], task_encoding={2: mine}, seed=0)
    assert np.array_equal(obs[2]["task"], mine)
    assert np.array_equal(obs[1]["task"], COMBAT_TASK.embedding(16))
    assert obs[1]["task"][REWARD_TERMS.index("comb_lvl")] == 1.0 and obs[1]["task"].sum() == 1.0
    obs, *_ = penv.step({})
    assert np.array_equal(obs[2]["task"], mine)
    # a smaller embedding: needs an encoding for every agent; the space follows
    with pytest.raises(APIUsageError, match="embedding_size"):
        penv.change_task([COMBAT_TASK], embedding_size=4)
    enc = {a: np.full(4, a, np.float32) for a in penv.possible_agents}
    obs, _ = penv.change_task([COMBAT_TASK], task_encoding=enc, embedding_size=4)
    space = penv.observation_space(1)
    assert space["task"].shape == (4,) and all(space.contains(o) for o in obs.values())
    assert np.array_equal(obs[3]["task"], [3, 3, 3, 3])
    # without a reset, the next step shows the new embedding
    penv.change_task([PROFESSION_TASK], reset=False)
    before = penv.steps
    obs, *_ = penv.step({})
    assert penv.steps == before + 1 and np.array_equal(obs[1]["task"], PROFESSION_TASK.embedding(16))


def test_change_task_errors_change_nothing():
    penv = make()
    penv.change_task([COMBAT_TASK], seed=0)
    tasks, space = dict(penv.tasks), penv.observation_space(1)
    bad_calls = [
        dict(new_tasks=[]), dict(new_tasks=COMBAT_TASK), dict(new_tasks=["combat"]),
        dict(new_tasks=[(COMBAT_TASK, -1.0)]), dict(new_tasks=[(COMBAT_TASK, 0.0)]),
        dict(new_tasks=[(COMBAT_TASK, float("nan"))]),
        dict(new_tasks=[COMBAT_TASK], task_encoding={N + 1: np.zeros(16)}),
        dict(new_tasks=[COMBAT_TASK], task_encoding={1: np.zeros(3)}),
        dict(new_tasks=[COMBAT_TASK], task_encoding={1: [np.inf] * 16}),
        dict(new_tasks=[COMBAT_TASK], task_encoding=[1, 2]),
        dict(new_tasks=[COMBAT_TASK], embedding_size=0),
        dict(new_tasks=[PROFESSION_TASK], seed=-1),
    ]
    for kwargs in bad_calls:
        with pytest.raises(APIUsageError):
            penv.change_task(**kwargs)
        assert penv.tasks == tasks and penv.observation_space(1) is space


def test_task_validation_and_presets():
    with pytest.raises(APIUsageError, match="unknown reward term"):
        Task("x", {"gold": 1.0})
    with pytest.raises(APIUsageError, match="finite"):
        Task("x", {"death": float("inf")})
    with pytest.raises(APIUsageError):
        Task(3, {"death": 1.0})
    t = Task("x", {"prof_lvl": 2, "death": -1})
    assert list(t.weights) == ["death", "prof_lvl"] and t == Task("x", {"death": -1.0, "prof_lvl": 2.0})
    assert hash(t) == hash(Task("x", {"death": -1.0, "prof_lvl": 2.0}))
    assert t.vector.shape == (len(REWARD_TERMS),)
    assert set(TASKS) >= {"default", "combat", "profession", "survival"}
    assert DEFAULT_TASK.weights == {k: 1.0 for k in REWARD_TERMS if k != "item_tool"}


# ---- state, render, construction ------------------------------------------------------------------------

def test_state_is_a_global_view():
    penv = make()
    penv.reset(seed=1)
    penv.step({})
    st = penv.state()
    h, w = SMALL["height"], SMALL["width"]
    assert st.shape == (h, w, len(STATE_CHANNELS)) == penv.state_space.shape and st.dtype == np.uint8
    assert penv.state_space.contains(st)
    s = penv.game.state(0)
    assert np.array_equal(st[..., 0], s["terrain"]) and np.array_equal(st[..., 1], s["items"])
    ents = s["entities"]
    for pid in range(N):
        r, c = ents["r"][pid], ents["c"][pid]
        assert st[r, c, 2] == 1 and st[r, c, 3] == ents["hp"][pid] and st[r, c, 4] == ents["comb_lvl"][pid]
    assert (st[..., 2] == 2).sum() == (s["pids"] >= N).sum()
    assert (st[..., 2] == 0).sum() == (s["pids"] < 0).sum()
    st[...] = 0   # a copy
    assert penv.state()[..., 0].any()


def test_render_modes():
    penv = make(render_mode="ansi")
    penv.reset(seed=0)
    text = penv.render()
    assert isinstance(text, str) and "@" in text
    frame = make(render_mode="rgb_array").render()
    assert frame.ndim == 3 and frame.shape[2] == 3 and frame.dtype == np.uint8
    with pytest.raises(APIUsageError, match="render_mode"):
        make().render()


def test_constructor_errors():
    for kwargs in ({"num_envs": 2}, {"device": "cuda"}, {"buf": None}, {"num_threads": 2}, {"bogus": 1},
                   {"horizon": 0}, {"embedding_size": 0}, {"seed": -1}, {"width": 10}):
        with pytest.raises(APIUsageError):
            make(**kwargs)
    penv = make(tasks=[SURVIVAL_TASK], embedding_size=8)
    assert all(t is SURVIVAL_TASK for t in penv.tasks.values())
    assert penv.observation_space(1)["task"].shape == (8,)


def test_exported_from_the_package():
    import pufferlib.ocean.nmmo3 as pkg
    assert "NeuralMMO" in pkg.__all__ and pkg.NeuralMMO is NeuralMMO
