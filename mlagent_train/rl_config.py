"""The configs of ``mlagent-train rl``, paired with their trainers as in TRL: :class:`RLConfig`
holds what GRPO and PPO share (the states pool, the executor, generation, the policy's
optimisation and bookkeeping); :class:`GRPOStageConfig` (``--algo grpo``, TRL's GRPOTrainer) and
:class:`PPOStageConfig` (``--algo ppo``, :mod:`mlagent_train.ppo`) add only the options their
algorithm reads, so that no option is dead for the algorithm that runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from mlagent_env.errors import MLAgentError
from mlagent_env.prompt import PROMPT_STYLE_HELP, PromptStyle
from mlagent_env.readable_answers import OPT_IN_HELP
from mlagent_env.sandbox import SandboxKind, sandbox_option
from mlagent_train.config import ConfigError, option
from mlagent_train.states import TaskBalance


class RLError(MLAgentError):
    """RL cannot run as configured."""


@dataclass
class RLConfig:
    """Options of ``mlagent-train rl`` shared by GRPO and PPO."""

    algo: Literal["grpo", "ppo"] = option("grpo", "grpo (TRL GRPOTrainer) | ppo (mlagent_train.ppo, single-step)")
    model_name_or_path: str = option("runs/sft/final", "the policy to start from (the SFT checkpoint)")
    trajectories: list[str] = option(["runs/explore/expert/trajectories"], "trajectory files or folders with saved states (the states pool)")
    tasks: list[str] = option([], "tasks or groups whose states are used (empty: every held-in task in the trajectories; offline tasks must be listed, e.g. offline-held-in)")
    allow_held_out: bool = option(False, "allow held-out tasks when they are listed in tasks (normally kept for evaluation)")
    task_balance: TaskBalance = option("uniform", "each task gets the same weight (uniform) or a weight proportional to its states (proportional); stratified: uniform drawn in rounds of one state per task, so that a batch of k x n_tasks states holds every task k times (GRPO then keeps the drawn order; make its states per generation batch a multiple of the tasks)")
    step_power: float = option(0.0, "state weight (step / episode length) ** step_power: 0 uniform, > 0 favours late steps")
    output_dir: str = option("runs/rl", "checkpoints, final model, reward curves and summaries")
    sandbox: SandboxKind = sandbox_option()
    executor: str = option("local", "where replies run: local (a thread pool here) | ray (env actors on a Ray "
                           "cluster, the ray extra)")
    ray_address: str = option("auto", "executor=ray: the cluster's head (host:port), or auto for this node's cluster")
    ray_resource: str | None = option(None, "executor=ray: a custom resource each env actor takes one of "
                                      "(e.g. mlagent_sandbox)")
    data_dir: str | None = option(None, "data root (default $MLAGENT_DATA_DIR)")
    num_sandboxes: int = option(8, "replies executed at once (one sandbox each)")
    history_window: int = option(3, "past steps in the prompts after an executed reply (episode-wise PPO's later "
                                 "steps); the states' own prompts are the trajectories' (keep both alike)", minimum=0)
    prompt_style: PromptStyle = option("full", "the prompts after an executed reply, as history_window: " + PROMPT_STYLE_HELP)
    rollout_timeout_s: float | None = option(None, "per-reply limit, counted from the reply's own start; a reply past it is killed and scored corner_case (unset: each task's exec_timeout_s + 60 s; never below exec_timeout_s)")
    allow_readable_answers: bool = option(False, OPT_IN_HELP)
    num_generations: int = option(8, "replies sampled per state (the GRPO group size; PPO samples as many)")
    max_completion_length: int = option(1024, "most tokens of one reply")
    temperature: float = option(1.0, "sampling temperature of rollouts")
    top_p: float = option(1.0, "nucleus sampling of rollouts")
    learning_rate: float = option(1e-6, "actor learning rate")
    beta: float = option(0.001, "KL coefficient to the reference model (0: no reference model)")
    max_steps: int = option(200, "optimizer steps (GRPO) or PPO iterations")
    epsilon: float = option(0.2, "clip range of the policy ratio (GRPO and PPO)")
    max_grad_norm: float = option(1.0, "gradient clipping")
    use_lora: bool = option(False, "train LoRA adapters (peft); the reference is the adapter-free model")
    lora_r: int = option(16, "LoRA rank")
    lora_alpha: int = option(32, "LoRA alpha")
    lora_target_modules: list[str] = option(["all-linear"], "modules that get adapters")
    bf16: str = option("auto", "auto (on with a bf16-capable GPU) | true | false")
    gradient_checkpointing: str = option("auto", "auto (on with a GPU) | true | false")
    logging_steps: int = option(1, "log every this many steps")
    save_steps: int = option(50, "save a checkpoint every this many steps")
    save_total_limit: int = option(3, "keep at most this many checkpoints")
    resume: str = option("auto", "auto (the latest checkpoint in output_dir) | none | a checkpoint folder")
    report_to: str = option("auto", "auto (tensorboard when installed, else none) | none | tensorboard | wandb")
    seed: int = option(42, "seed of state sampling, generation and initialisation")
    use_cpu: bool = option(False, "train on the CPU even when a GPU is there (tests)")
    summary_window: int = option(5, "steps averaged for the first/last reward windows of the summary")


@dataclass
class GRPOStageConfig(RLConfig):
    """``mlagent-train rl --algo grpo``: step-wise GRPO with TRL's GRPOTrainer."""

    algo: Literal["grpo"] = option("grpo", "grpo (TRL GRPOTrainer) | ppo (mlagent_train.ppo, single-step)")
    num_states: int = option(0, "states drawn for the training dataset (0: enough for max_steps)")
    per_device_train_batch_size: int = option(8, "completions per device per micro-batch (GRPO: a multiple of num_generations over the generation batch)")
    gradient_accumulation_steps: int = option(4, "micro-batches per optimizer step")
    num_iterations: int = option(1, "optimisation passes over each generation batch (mu)")
    loss_type: str = option("dapo", "GRPO loss aggregation (TRL: grpo | dapo | dr_grpo | bnpo ...)")
    scale_rewards: str = option("group", "GRPO reward scaling: group | batch | none")
    lr_scheduler_type: str = option("constant", "learning-rate schedule (GRPO, transformers names)")
    warmup_ratio: float = option(0.0, "warmup fraction of the steps (GRPO)")
    use_vllm: bool = option(False, "generate with vLLM (TRL's vllm_mode colocate/server)")
    vllm_mode: str = option("colocate", "GRPO with vLLM: colocate | server")

    @property
    def mode(self) -> Literal["step"]:
        """GRPO is step-wise only (the episode-wise baseline is PPO's ``mode: episode``)."""
        return "step"


@dataclass
class PPOStageConfig(RLConfig):
    """``mlagent-train rl --algo ppo``: single-step PPO with a value head, and the episode-wise baseline."""

    algo: Literal["ppo"] = option("ppo", "grpo (TRL GRPOTrainer) | ppo (mlagent_train.ppo, single-step)")
    mode: Literal["step", "episode"] = option("step", "step: states from trajectories, one executed step each (paper); episode: whole episodes with the current policy (the baseline)")
    episode_max_steps: int = option(10, "step budget of an episode")
    prompts_per_step: int = option(4, "states per iteration (x num_generations replies)")
    ppo_epochs: int = option(2, "passes over each rollout batch")
    mini_batch_size: int = option(8, "sequences per gradient step")
    vf_coef: float = option(0.5, "value-loss coefficient")
    cliprange_value: float = option(0.2, "clip range of the value prediction")
    ent_coef: float = option(0.0, "entropy bonus coefficient")
    critic_learning_rate: float = option(1e-5, "value-head learning rate")
    whiten_advantages: bool = option(True, "normalise advantages over the batch")


RL_CONFIGS: dict[str, type[RLConfig]] = {"grpo": GRPOStageConfig, "ppo": PPOStageConfig}


def rl_config_class(algo: object) -> type[RLConfig]:
    """The config class of an algorithm name."""
    if algo not in RL_CONFIGS:
        raise ConfigError(f"algo must be one of {sorted(RL_CONFIGS)}, not {algo!r}")
    return RL_CONFIGS[str(algo)]
