"""Step-wise GRPO with TRL's ``GRPOTrainer``: the prompts are states of the states pool, and the
one reward function executes each completion from its state (:class:`mlagent_train.rollout.EnvReward`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from mlagent_train.config import auto_flag
from mlagent_train.executor import Executor
from mlagent_train.model_setup import load_tokenizer, lora_config
from mlagent_train.rl_config import GRPOStageConfig
from mlagent_train.rl_outputs import resume_checkpoint, rollouts_path, truncate_rollouts, write_card
from mlagent_train.rollout import EnvReward, RewardLog
from mlagent_train.states import StatesPool


class CardCallback(TrainerCallback):
    """Writes the training card into every checkpoint TRL saves."""

    def __init__(self, card: str) -> None:
        self.card = card

    def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if state.is_world_process_zero:
            write_card(Path(args.output_dir) / f"checkpoint-{state.global_step}", self.card)



def build_grpo_trainer(cfg: GRPOStageConfig, reward_func: Any, dataset: Any, report_to: str, card: str) -> Any:
    """TRL's GRPOTrainer over sampled states with the env-executing reward function."""
    import torch
    from trl import GRPOConfig, GRPOTrainer

    gpu = torch.cuda.is_available() and not cfg.use_cpu
    bf16 = auto_flag(cfg.bf16, "bf16", gpu and torch.cuda.is_bf16_supported())
    checkpointing = auto_flag(cfg.gradient_checkpointing, "gradient_checkpointing", gpu)
    tok = load_tokenizer(cfg.model_name_or_path)
    peft_config = lora_config(cfg.lora_r, cfg.lora_alpha, cfg.lora_target_modules) if cfg.use_lora else None
    extra: dict[str, Any] = {}
    if cfg.use_vllm:
        extra.update(use_vllm=True, vllm_mode=cfg.vllm_mode)
    args = GRPOConfig(
        output_dir=cfg.output_dir,
        learning_rate=cfg.learning_rate,
        lr_scheduler_type=cfg.lr_scheduler_type,
        warmup_steps=cfg.warmup_ratio,
        max_steps=cfg.max_steps,
        per_device_train_batch_size=cfg.per_device_train_batch_size,
        gradient_accumulation_steps=cfg.gradient_accumulation_steps,
        num_generations=cfg.num_generations,
        max_completion_length=cfg.max_completion_length,
        temperature=cfg.temperature,
        top_p=cfg.top_p,
        beta=cfg.beta,
        epsilon=cfg.epsilon,
        num_iterations=cfg.num_iterations,
        loss_type=cfg.loss_type,
        scale_rewards=cfg.scale_rewards,
        max_grad_norm=cfg.max_grad_norm,
        bf16=bf16,
        gradient_checkpointing=checkpointing,
        logging_steps=cfg.logging_steps,
        logging_first_step=True,
        save_strategy="steps",
        save_steps=cfg.save_steps,
        save_total_limit=cfg.save_total_limit,
        seed=cfg.seed,
        use_cpu=cfg.use_cpu,
        report_to=report_to,
        log_completions=False,
        shuffle_dataset=cfg.task_balance != "stratified",  # stratified: the rounds are the batches
        **extra,
    )
    model_kwargs = {"dtype": torch.bfloat16 if bf16 else torch.float32}
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(cfg.model_name_or_path, **model_kwargs)
    return GRPOTrainer(model=model, reward_funcs=[reward_func], args=args, train_dataset=dataset,
                       processing_class=tok, peft_config=peft_config, callbacks=[CardCallback(card)])


def run_grpo(cfg: GRPOStageConfig, out: Path, report_to: str, pool: StatesPool, executor: Executor,
             card: str, readable: bool = False) -> tuple[int, Any, list[dict[str, Any]]]:
    """Train on states of ``pool`` executed by ``executor`` (closed by the caller); returns
    (global step, trainer, log history). ``readable`` marks every logged step ``answers_readable``."""
    prompts_per_step = max(1, cfg.per_device_train_batch_size * cfg.gradient_accumulation_steps // cfg.num_generations)
    n = cfg.num_states or max(len(pool.entries), cfg.max_steps * prompts_per_step)
    dataset = pool.to_dataset(n, seed=cfg.seed)
    resume = resume_checkpoint(cfg)
    rollouts = rollouts_path(out)
    if resume is None:
        rollouts.unlink(missing_ok=True)
    else:
        truncate_rollouts(rollouts, int(resume.name.split("-")[-1]))
    reward = EnvReward(executor, pool.states(), RewardLog(rollouts), marks={"answers_readable": 1.0} if readable else None)
    trainer = build_grpo_trainer(cfg, reward, dataset, report_to, card)
    trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    final = out / "final"
    if cfg.use_lora:  # the adapter beside, the merged model in final/ (what eval and vLLM load)
        trainer.save_model(str(out / "final-adapter"))
        if trainer.is_world_process_zero():
            trainer.model.merge_and_unload().save_pretrained(final)
    else:
        trainer.save_model(str(final))
    if trainer.is_world_process_zero():
        trainer.processing_class.save_pretrained(final)
        write_card(final, card)
    return trainer.state.global_step, trainer, trainer.state.log_history
