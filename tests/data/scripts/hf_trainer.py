"""An HF transformers Trainer run on a tiny local model (no hub): warm-up, cosine with
restarts, gradient accumulation. Usage: hf_trainer.py OUTPUT_DIR [--epochs N]"""
import argparse

import torch
from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments


class Data(torch.utils.data.Dataset):
    def __init__(self, n):
        g = torch.Generator().manual_seed(0)
        self.x = torch.randint(0, 20, (n, 6), generator=g)
        self.y = torch.randint(0, 2, (n,), generator=g)

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return {"input_ids": self.x[i], "labels": self.y[i]}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("output_dir")
    p.add_argument("--epochs", type=int, default=3)
    a = p.parse_args()
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=20, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                     intermediate_size=8, max_position_embeddings=8, num_labels=2)
    model = BertForSequenceClassification(cfg)
    args = TrainingArguments(output_dir=a.output_dir, num_train_epochs=a.epochs, per_device_train_batch_size=2,
                             gradient_accumulation_steps=3, learning_rate=1e-3, weight_decay=0.01,
                             warmup_steps=4, lr_scheduler_type="cosine_with_restarts",
                             lr_scheduler_kwargs={"num_cycles": 2}, report_to=[], save_strategy="no",
                             logging_strategy="no", use_cpu=True, dataloader_num_workers=0, seed=0,
                             disable_tqdm=True)
    Trainer(model=model, args=args, train_dataset=Data(60)).train()
    print("done")


if __name__ == "__main__":
    main()
