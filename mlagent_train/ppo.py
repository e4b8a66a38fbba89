"""Step-wise PPO for one-step episodes, written out like CleanRL's ``ppo.py`` (TRL 1.16 has no
PPO trainer).

Each iteration:

1. **Rollout.** ``mode=step``: ``prompts_per_step`` states are drawn from the states pool and the
   policy samples ``num_generations`` replies for each; every reply is executed from its restored
   state by an :class:`mlagent_train.executor.Executor` (the same executor and reward path as
   GRPO), and its reward is the env's unified reward of that step. ``mode=episode`` (the
   baseline): ``prompts_per_step x num_generations`` whole episodes are played from the task's
   start with the current policy, and every step of an episode gets the episode's return (the
   mean of its step rewards) as its reward.
2. **Scores and advantages, per sequence.** Each reply is one action of a one-step episode, so
   there is no bootstrapping (gamma and lambda do not apply): with ``kl`` the summed per-token
   log-ratio to the reference model (``logp - logp_ref``), the score is
   ``reward - beta * kl``, the return is the score, and the advantage is
   ``return - value``, where the value is the value head's estimate at the last prompt token
   (the state). The advantage is broadcast to every token of the reply (and whitened over the
   batch when ``whiten_advantages``).
3. **Update.** ``ppo_epochs`` passes over shuffled mini-batches: the clipped policy loss on the
   token ratios, the clipped value loss, and an entropy bonus; ``approx_kl`` (``(r - 1) - log r``)
   and ``clipfrac`` are measured on the way, as in CleanRL.

Logged every iteration (``log_history.json``, TensorBoard when ``report_to`` has it): ``pg_loss``,
``v_loss``, ``entropy``, ``approx_kl``, ``clipfrac``, ``kl_ref``, ``reward``, ``score``,
``value``, ``explained_variance``, ``reward_kind/<kind>``, ``valid_fraction`` and the time spent
generating, executing and training. Checkpoints (``checkpoint-<n>/``: model, tokenizer, value
head, optimizer, iteration and log) are resumed from automatically. One process, one device
(no DeepSpeed/FSDP here; use GRPO for multi-GPU runs).
"""

from __future__ import annotations

import json
import math
import random
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from mlagent_train.config import auto_flag
from mlagent_train.executor import Executor, ScoredReply
from mlagent_train.model_setup import load_tokenizer, lora_config
from mlagent_train.rl_config import PPOStageConfig, RLConfig, RLError
from mlagent_train.rl_outputs import resume_checkpoint, truncate_rollouts, write_card
from mlagent_train.rollout import RewardLog
from mlagent_train.states import StatesPool


class ValueHead(nn.Module):
    """The critic: one linear layer on the policy's last hidden state (shared backbone)."""

    def __init__(self, hidden_size: int) -> None:
        super().__init__()
        self.summary = nn.Linear(hidden_size, 1)
        nn.init.zeros_(self.summary.weight)
        nn.init.constant_(self.summary.bias, 0.5)  # the middle of the unified reward's [0, 1]

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.summary(hidden.float()).squeeze(-1)


@dataclass
class Batch:
    """Prompts left-padded to ``P`` tokens, replies right-padded to ``C``: ``[pad.. prompt | reply ..pad]``."""

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    position_ids: torch.Tensor
    completion_mask: torch.Tensor
    prompt_width: int

    def __getitem__(self, idx: Any) -> Batch:
        return Batch(self.input_ids[idx], self.attention_mask[idx], self.position_ids[idx], self.completion_mask[idx],
                     self.prompt_width)


def pack(prompts: list[list[int]], completions: list[list[int]], pad_id: int, device: torch.device) -> Batch:
    P = max(len(p) for p in prompts)
    C = max(max(len(c) for c in completions), 1)
    ids, attn, cmask = [], [], []
    for p, c in zip(prompts, completions):
        ids.append([pad_id] * (P - len(p)) + p + c + [pad_id] * (C - len(c)))
        attn.append([0] * (P - len(p)) + [1] * (len(p) + len(c)) + [0] * (C - len(c)))
        cmask.append([1] * len(c) + [0] * (C - len(c)))
    attention_mask = torch.tensor(attn, device=device)
    return Batch(
        input_ids=torch.tensor(ids, device=device),
        attention_mask=attention_mask,
        position_ids=(attention_mask.cumsum(-1) - 1).clamp(min=0),
        completion_mask=torch.tensor(cmask, device=device, dtype=torch.float32),
        prompt_width=P,
    )


def forward(model: Any, v_head: ValueHead | None, b: Batch, temperature: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Per-token log-probabilities and entropies of the reply tokens ``[B, C]``, and the value of
    the state (at the last prompt token) ``[B]`` when a value head is given."""
    C = b.completion_mask.shape[1]
    out = model(input_ids=b.input_ids, attention_mask=b.attention_mask, position_ids=b.position_ids,
                output_hidden_states=v_head is not None, logits_to_keep=C + 1, use_cache=False)
    logits = out.logits[:, :-1].float() / temperature  # position P-1+i predicts reply token i
    logp_all = torch.log_softmax(logits, dim=-1)
    targets = b.input_ids[:, b.prompt_width:]
    logprobs = logp_all.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    entropy = -(logp_all.exp() * logp_all).sum(-1)
    values = v_head(out.hidden_states[-1][:, b.prompt_width - 1]) if v_head is not None else None
    return logprobs, entropy, values


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return (x * mask).sum() / mask.sum().clamp(min=1.0)


# ------------------------------------------------------------------------------------- rollout


@dataclass
class Rollout:
    prompts: list[list[int]]
    completions: list[list[int]]
    rewards: list[float]
    outcomes: list[ScoredReply]
    gen_s: float = 0.0
    env_s: float = 0.0


class Generator:
    """Samples replies from the current policy with ``model.generate`` (one padded batch)."""

    def __init__(self, model: Any, tokenizer: Any, cfg: RLConfig, device: torch.device) -> None:
        self.model, self.tok, self.cfg, self.device = model, tokenizer, cfg, device
        eos = {tokenizer.eos_token_id}
        im_end = tokenizer.convert_tokens_to_ids("<|im_end|>")
        if isinstance(im_end, int) and im_end != tokenizer.unk_token_id:
            eos.add(im_end)
        self.eos = sorted(i for i in eos if i is not None)
        self.pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else self.eos[0]

    def prompt_ids(self, messages: list[dict[str, str]]) -> list[int]:
        enc: Any = self.tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=True, return_dict=True)
        ids = enc["input_ids"]
        return [int(i) for i in (ids[0] if ids and isinstance(ids[0], list) else ids)]

    @torch.no_grad()
    def sample(self, prompts: list[list[int]]) -> tuple[list[list[int]], list[str]]:
        P = max(len(p) for p in prompts)
        ids = torch.tensor([[self.pad] * (P - len(p)) + p for p in prompts], device=self.device)
        mask = torch.tensor([[0] * (P - len(p)) + [1] * len(p) for p in prompts], device=self.device)
        was_training = self.model.training
        self.model.eval()
        out = self.model.generate(input_ids=ids, attention_mask=mask, do_sample=True, temperature=self.cfg.temperature,
                                  top_p=self.cfg.top_p, max_new_tokens=self.cfg.max_completion_length,
                                  eos_token_id=self.eos, pad_token_id=self.pad)
        self.model.train(was_training)
        completions = []
        for row in out[:, P:].tolist():
            cut = next((i + 1 for i, t in enumerate(row) if t in self.eos), len(row))  # keep the end-of-turn token
            completions.append(row[:cut])
        texts = self.tok.batch_decode(completions, skip_special_tokens=True)
        return completions, texts


def rollout_steps(gen: Generator, executor: Executor, pool: StatesPool, cfg: PPOStageConfig, iteration: int) -> Rollout:
    """Step-wise: sampled states x ``num_generations`` replies, each executed from its state."""
    entries = pool.sample(cfg.prompts_per_step, seed=cfg.seed * 100_003 + iteration)
    prompts, states = [], []
    for e in entries:
        ids = gen.prompt_ids(e.messages)
        prompts += [ids] * cfg.num_generations
        states += [e.state] * cfg.num_generations
    t0 = time.perf_counter()
    completions, texts = gen.sample(prompts)
    t1 = time.perf_counter()
    outcomes = executor.run(states, texts)
    t2 = time.perf_counter()
    return Rollout(prompts, completions, [o.reward for o in outcomes], outcomes, gen_s=t1 - t0, env_s=t2 - t1)


def rollout_episodes(gen: Generator, executor: Executor, pool: StatesPool, cfg: PPOStageConfig, iteration: int) -> Rollout:
    """Episode-wise baseline: whole episodes from the task's start, played in lockstep (one
    generation batch per round; each step is executed from the episode's last state by the
    executor, like a step-wise reply); every step's reward is its episode's return (mean step
    reward)."""
    n = cfg.prompts_per_step * cfg.num_generations
    rng = random.Random(cfg.seed * 100_003 + iteration)
    tasks = [e.task_id for e in pool.sample(n, seed=cfg.seed * 100_003 + iteration)]
    starts = executor.begin(tasks, [rng.randrange(2**31) for _ in tasks])
    states = [s.state for s in starts]
    messages = [s.messages for s in starts]
    steps: list[list[tuple[list[int], list[int], ScoredReply]]] = [[] for _ in starts]
    active = list(range(n))
    gen_s = env_s = 0.0
    while active:
        prompts = [gen.prompt_ids(messages[i]) for i in active]
        t0 = time.perf_counter()
        completions, texts = gen.sample(prompts)
        t1 = time.perf_counter()
        scored = executor.run([states[i] for i in active], texts, keep_state=True)
        env_s += time.perf_counter() - t1
        gen_s += t1 - t0
        still = []
        for i, p, c, o in zip(active, prompts, completions, scored):
            steps[i].append((p, c, o))
            if not o.done and o.next_state is not None and o.next_messages is not None:
                states[i], messages[i] = o.next_state, o.next_messages
                still.append(i)
        active = still
    out = Rollout([], [], [], [], gen_s=gen_s, env_s=env_s)
    for episode in steps:
        ret = sum(o.reward for _, _, o in episode) / len(episode)
        for p, c, o in episode:
            out.prompts.append(p)
            out.completions.append(c)
            out.rewards.append(ret)
            out.outcomes.append(o)
    return out


# ------------------------------------------------------------------------------------- training


def _save(path: Path, model: Any, tok: Any, v_head: ValueHead, opt: torch.optim.Optimizer, iteration: int,
          history: list[dict[str, Any]], limit: int, card: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    torch.save(v_head.state_dict(), tmp / "value_head.pt")
    torch.save(opt.state_dict(), tmp / "optimizer.pt")
    (tmp / "ppo_state.json").write_text(json.dumps({"global_step": iteration, "log_history": history}))
    write_card(tmp, card)
    shutil.rmtree(path, ignore_errors=True)
    tmp.replace(path)
    ckpts = sorted((p for p in path.parent.glob("checkpoint-*") if p.name.split("-")[-1].isdigit()),
                   key=lambda p: int(p.name.split("-")[-1]))
    for old in ckpts[:-limit] if limit > 0 else []:
        shutil.rmtree(old, ignore_errors=True)


def run_ppo(cfg: PPOStageConfig, out: Path, report_to: str, pool: StatesPool, executor: Executor, card: str,
            readable: bool = False) -> tuple[int, list[dict[str, Any]]]:
    """Train with PPO as described in the module docstring on states of ``pool`` executed by
    ``executor`` (closed by the caller); returns (iterations, log history). ``card`` goes into
    every checkpoint and ``final/``; ``readable`` marks every logged row ``answers_readable``."""
    from transformers import AutoModelForCausalLM

    if cfg.num_generations < 1 or cfg.prompts_per_step < 1:
        raise RLError("num_generations and prompts_per_step must be >= 1")
    gpu = torch.cuda.is_available() and not cfg.use_cpu
    device = torch.device("cuda" if gpu else "cpu")
    bf16 = auto_flag(cfg.bf16, "bf16", gpu and torch.cuda.is_bf16_supported())
    torch.manual_seed(cfg.seed)
    resume = resume_checkpoint(cfg)
    source = str(resume) if resume else cfg.model_name_or_path
    tok = load_tokenizer(source)
    dtype = torch.bfloat16 if bf16 else torch.float32
    model: Any = AutoModelForCausalLM.from_pretrained(source if not cfg.use_lora else cfg.model_name_or_path, dtype=dtype)
    if cfg.use_lora:
        from peft import PeftModel, get_peft_model

        if resume:
            model = PeftModel.from_pretrained(model, str(resume), is_trainable=True)
        else:
            model = get_peft_model(model, lora_config(cfg.lora_r, cfg.lora_alpha, cfg.lora_target_modules))
    model.to(device)
    if auto_flag(cfg.gradient_checkpointing, "gradient_checkpointing", gpu):
        model.gradient_checkpointing_enable()
    ref: Any = None  # with LoRA the reference is the same model with its adapters disabled
    if cfg.beta > 0 and not cfg.use_lora:
        ref = AutoModelForCausalLM.from_pretrained(cfg.model_name_or_path, dtype=dtype).to(device).eval()  # type: ignore[arg-type]
        ref.requires_grad_(False)
    v_head = ValueHead(model.config.hidden_size).to(device)
    opt = torch.optim.AdamW([
        {"params": [p for p in model.parameters() if p.requires_grad], "lr": cfg.learning_rate},
        {"params": v_head.parameters(), "lr": cfg.critic_learning_rate},
    ])
    start, history = 0, []
    if resume:
        v_head.load_state_dict(torch.load(resume / "value_head.pt", map_location=device))
        opt.load_state_dict(torch.load(resume / "optimizer.pt", map_location=device))
        state = json.loads((resume / "ppo_state.json").read_text())
        start, history = state["global_step"], state["log_history"]
        truncate_rollouts(out / "rollouts.jsonl", start)
    else:
        (out / "rollouts.jsonl").unlink(missing_ok=True)
    writer = None
    if "tensorboard" in report_to:
        from torch.utils.tensorboard import SummaryWriter

        writer = SummaryWriter(str(out / "runs"))
    elif report_to not in ("none", ""):
        print(f"mlagent-train rl --algo ppo: report_to={report_to!r} is not supported by the PPO loop; "
              "metrics go to log_history.json (and TensorBoard with report_to=tensorboard)")

    reward_log = RewardLog(out / "rollouts.jsonl")
    gen = Generator(model, tok, cfg, device)
    rollout = rollout_steps if cfg.mode == "step" else rollout_episodes
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if (gpu and bf16) else torch.autocast("cpu", enabled=False)
    model.train()
    try:
        for iteration in range(start + 1, cfg.max_steps + 1):
            torch.manual_seed(cfg.seed * 100_003 + iteration)
            # 1. rollout: sample replies and execute them
            ro = rollout(gen, executor, pool, cfg, iteration)
            metrics = reward_log.record(iteration, ro.outcomes, {"trained_reward": ro.rewards})
            t_train = time.perf_counter()
            b = pack(ro.prompts, ro.completions, gen.pad, device)
            rewards = torch.tensor(ro.rewards, device=device)
            N = len(ro.rewards)

            # 2. old log-probs, reference log-probs and values; scores and per-sequence advantages
            with torch.no_grad(), autocast:
                old_logprobs = torch.zeros_like(b.completion_mask)
                ref_logprobs = torch.zeros_like(b.completion_mask)
                old_values = torch.zeros(N, device=device)
                for s in range(0, N, cfg.mini_batch_size):
                    sl = slice(s, s + cfg.mini_batch_size)
                    lp, _, v = forward(model, v_head, b[sl], cfg.temperature)
                    old_logprobs[sl], old_values[sl] = lp, v  # type: ignore[assignment]
                    if cfg.beta > 0:
                        if ref is not None:
                            ref_logprobs[sl] = forward(ref, None, b[sl], cfg.temperature)[0]
                        else:
                            with model.disable_adapter():
                                ref_logprobs[sl] = forward(model, None, b[sl], cfg.temperature)[0]
                kl = ((old_logprobs - ref_logprobs) * b.completion_mask).sum(-1)  # per sequence
                if cfg.beta <= 0:
                    kl = torch.zeros_like(kl)  # no reference model: no KL term (and none to log)
                scores = rewards - cfg.beta * kl
                returns = scores
                advantages = returns - old_values
                if cfg.whiten_advantages and N > 1:
                    advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)

            # 3. PPO update: clipped policy loss, clipped value loss, entropy bonus
            stats: dict[str, list[float]] = {k: [] for k in ("pg_loss", "v_loss", "entropy", "approx_kl", "clipfrac")}
            inds = list(range(N))
            for _ in range(cfg.ppo_epochs):
                random.Random(iteration).shuffle(inds)
                for s in range(0, N, cfg.mini_batch_size):
                    mb = torch.tensor(inds[s:s + cfg.mini_batch_size], device=device)
                    mbb = b[mb]
                    mask = mbb.completion_mask
                    with autocast:
                        newlogprob, entropy, newvalue = forward(model, v_head, mbb, cfg.temperature)
                    assert newvalue is not None
                    logratio = newlogprob - old_logprobs[mb]
                    ratio = logratio.exp()
                    with torch.no_grad():
                        approx_kl = masked_mean((ratio - 1) - logratio, mask)
                        clipfrac = masked_mean(((ratio - 1.0).abs() > cfg.epsilon).float(), mask)
                    mb_adv = advantages[mb].unsqueeze(-1)  # per sequence, broadcast to its tokens
                    pg_loss1 = -mb_adv * ratio
                    pg_loss2 = -mb_adv * torch.clamp(ratio, 1 - cfg.epsilon, 1 + cfg.epsilon)
                    pg_loss = masked_mean(torch.max(pg_loss1, pg_loss2), mask)
                    v_loss_unclipped = (newvalue - returns[mb]) ** 2
                    v_clipped = old_values[mb] + torch.clamp(newvalue - old_values[mb], -cfg.cliprange_value, cfg.cliprange_value)
                    v_loss_clipped = (v_clipped - returns[mb]) ** 2
                    v_loss = 0.5 * torch.max(v_loss_unclipped, v_loss_clipped).mean()
                    entropy_loss = masked_mean(entropy, mask)
                    loss = pg_loss - cfg.ent_coef * entropy_loss + cfg.vf_coef * v_loss
                    opt.zero_grad()
                    loss.backward()
                    nn.utils.clip_grad_norm_(list(model.parameters()) + list(v_head.parameters()), cfg.max_grad_norm)
                    opt.step()
                    for k, v in (("pg_loss", pg_loss), ("v_loss", v_loss), ("entropy", entropy_loss),
                                 ("approx_kl", approx_kl), ("clipfrac", clipfrac)):
                        stats[k].append(float(v))

            var_y = float(returns.var()) if N > 1 else 0.0
            explained_var = math.nan if var_y == 0 else 1 - float((returns - old_values).var()) / var_y
            row: dict[str, Any] = {"step": iteration, **({"answers_readable": True} if readable else {}), **{k: sum(v) / len(v) for k, v in stats.items()},
                                   "reward": float(rewards.mean()), "score": float(scores.mean()),
                                   "kl_ref": float(kl.mean()), "value": float(old_values.mean()),
                                   "explained_variance": explained_var, **metrics,
                                   "completion_length": float(b.completion_mask.sum(-1).mean()),
                                   "gen_s": ro.gen_s, "env_s": ro.env_s, "train_s": time.perf_counter() - t_train}
            history.append(row)
            if writer is not None:
                for k, v in row.items():
                    if k != "step" and isinstance(v, (int, float)) and math.isfinite(v):
                        writer.add_scalar(f"train/{k}", v, iteration)
            if cfg.logging_steps and iteration % cfg.logging_steps == 0:
                print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()
                                  if not k.startswith("reward_kind/") or v}))
            if cfg.save_steps and iteration % cfg.save_steps == 0:
                _save(out / f"checkpoint-{iteration}", model, tok, v_head, opt, iteration, history, cfg.save_total_limit,
                      card)
    finally:
        if writer is not None:
            writer.close()
    final = out / "final"
    final.mkdir(parents=True, exist_ok=True)
    to_save = model.merge_and_unload() if cfg.use_lora else model
    to_save.save_pretrained(final)
    tok.save_pretrained(final)
    write_card(final, card)
    torch.save(v_head.state_dict(), final / "value_head.pt")
    return (history[-1]["step"] if history else start), history
