"""A pytorch-accelerated Trainer run with OneCycleLR built by create_scheduler_fn (placeholders
for the epochs and the update steps per epoch), with gradient accumulation; --cosine: the
library's own CosineLrScheduler (warm-up 1 epoch) instead."""
import sys
from functools import partial

import torch
from pytorch_accelerated import Trainer
from pytorch_accelerated.schedulers import CosineLrScheduler
from pytorch_accelerated.trainer import TrainerPlaceholderValues


def main():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    data = torch.utils.data.TensorDataset(torch.randn(40, 4), torch.randint(0, 2, (40,)))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    if "--cosine" in sys.argv[1:]:
        create_scheduler_fn = CosineLrScheduler.create_scheduler_fn(num_warmup_epochs=1, warmup_starting_lr=1e-3,
                                                                    lr_min=1e-4)
    else:
        create_scheduler_fn = partial(torch.optim.lr_scheduler.OneCycleLR, max_lr=0.05,
                                      epochs=TrainerPlaceholderValues.NUM_EPOCHS,
                                      steps_per_epoch=TrainerPlaceholderValues.NUM_UPDATE_STEPS_PER_EPOCH)
    trainer = Trainer(model=model, loss_func=torch.nn.CrossEntropyLoss(), optimizer=optimizer, callbacks=())
    trainer.train(train_dataset=data, num_epochs=3, per_device_batch_size=4, gradient_accumulation_steps=2,
                  create_scheduler_fn=create_scheduler_fn)
    print("done")


if __name__ == "__main__":
    main()
