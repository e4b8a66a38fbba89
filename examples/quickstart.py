"""Quickstart: play one episode of the offline digits task with a small scripted policy.

    python examples/quickstart.py

It shows the whole loop: gym.make, reset, a policy that answers each prompt, step, the
per-step unified reward, the final score on the held-back rows, and a snapshot/resume.
"""

from __future__ import annotations

import warnings

import gymnasium as gym

import mlagent_env  # noqa: F401  (registers "mlagent/<task>")
from mlagent_env import actions as A

warnings.filterwarnings("ignore", message="mlagent local sandbox")


def policy(step: int) -> str:
    """A tiny hand-written agent: look, run the baseline, switch to an SVM, run, submit.
    A real agent would read ``info["messages"]`` and ask an LLM."""
    plan = [
        A.ListFiles(dir_path="."),
        A.ExecuteScript(script_name="train.py"),
        A.EditScriptSegment(
            script_name="train.py",
            start_line_number=15,
            end_line_number=15,
            new_content="from sklearn.svm import SVC\nmodel = SVC(C=10, gamma=0.001)",
        ),
        A.ExecuteScript(script_name="train.py"),
        A.ValidateSubmission(),
        A.FinalAnswer(final_answer="Replaced naive Bayes with an RBF SVM."),
    ]
    thought = "Thought: follow the plan.\n"
    return thought + plan[min(step, len(plan) - 1)].to_reply()


def main() -> None:
    env = gym.make("mlagent/digits", sandbox="local", max_steps=10)
    obs, info = env.reset(seed=0)
    print(obs[-400:], "\n")  # the end of the first prompt: workspace and budget

    step = 0
    while True:
        reply = policy(step)
        obs, reward, terminated, truncated, info = env.step(reply)
        step += 1
        metric = "" if info["metric"] is None else f"  metric={info['metric']:.4f}"
        print(f"step {step}: {info['action']['name']:<20} {info['reward_kind']:<11} reward={reward:.3f}{metric}")
        if step == 2:
            state = env.unwrapped.snapshot()  # could be saved as JSON: state.model_dump_json()
        if terminated or truncated:
            break
    print(f"\nfinal score on the held-back rows: {info['final_score']:.4f}")

    # resume from the snapshot taken after step 2, in a fresh sandbox
    obs, info = env.reset(options={"state": state})
    print(f"resumed at step {env.unwrapped.snapshot().step}; the next prompt ends with:\n{info['prompt'][-200:]}")
    env.close()


if __name__ == "__main__":
    main()
