"""Env actors on a Ray cluster: the optional ``[ray]`` extra (``pip install "mlagent[ray]"``).

    from mlagent_env.remote.cluster import connect
    from mlagent_env.remote.env import RemoteEnv
    connect("auto")                                   # the cluster this node belongs to
    env = RemoteEnv.spawn("digits", {"sandbox": "docker"})
    obs, info = env.reset(seed=0)                     # runs on the node Ray placed the actor on
    obs, reward, terminated, truncated, info = env.step(reply)

An :class:`~mlagent_env.remote.actor.EnvActor` owns one env (its sandbox lives on the actor's
node) and prepares the task's data there on first use; :class:`~mlagent_env.remote.env.RemoteEnv`
drives it from the driver as a Gymnasium env and, when the node dies, carries the episode on to an
actor elsewhere from the last state. The benchmark (``mlagent-env bench --ray-address``) and the
RL executor (``mlagent-train rl --set executor=ray``) use them.

Only this package imports ``ray``; nothing imports this package unless Ray was asked for.
"""
