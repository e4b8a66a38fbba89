"""mlagent_train: training LLM agents on mlagent_env tasks (exploration-enriched SFT, step-wise RL).

Install with the ``train`` extra: ``pip install "mlagent[train]"``. Importing this package does
not import torch; each module imports its heavy dependencies when it is used.

* :mod:`mlagent_train.explore`: ``ExploreConfig``, ``run_explore`` (idea pools, diverse ideas,
  expert trajectories through the benchmark harness).
* :mod:`mlagent_train.embed`: ``Embedder``, ``build_embedder``, ``farthest_point_selection``.
* :mod:`mlagent_train.datasets`: ``build_sft_dataset``, ``tokenize_sft`` (trajectories to SFT data).
* :mod:`mlagent_train.sft`: ``SFTStageConfig``, ``run_sft`` (TRL SFTTrainer, full or LoRA).
* :mod:`mlagent_train.policy`: ``TransformersPolicy`` (a causal LM as an env policy).
* :mod:`mlagent_train.states`: ``StatesPool`` (expert states to sample step-wise RL prompts from).
* :mod:`mlagent_train.executor`: the ``Executor`` protocol (execute a reply from a restored state:
  per-reply timeouts, errors as rewards) and ``ScoredReply``; :mod:`mlagent_train.local_executor`:
  ``LocalExecutor`` (a thread pool over local/Docker sandboxes).
* :mod:`mlagent_train.rollout`: ``EnvReward``, ``RewardLog`` (the unified reward is the RL reward).
* :mod:`mlagent_train.rl`: ``RLConfig``, ``run_rl`` (step-wise GRPO with TRL's GRPOTrainer, PPO).
* :mod:`mlagent_train.ppo`: single-step PPO with a value head, and the episode-wise baseline.
* :mod:`mlagent_train.evaluate`: ``EvalConfig``, ``run_eval`` (a model through the benchmark harness).
* :mod:`mlagent_train.config`: YAML configs with CLI overrides; :mod:`mlagent_train.cli`: ``mlagent-train``.
* :mod:`mlagent_train.tiny`: a tiny random Qwen2 model for tests and smoke runs.
"""

__version__ = "0.1.0"
