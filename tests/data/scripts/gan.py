"""A GAN-shaped loop: two models, two Adam optimizers, each with its own scheduler (the
discriminator's ExponentialLR stepped after every update, the generator's StepLR once per
epoch of --batches updates), the discriminator updated before the generator.
"""
import argparse

import torch


def get_args():
    p = argparse.ArgumentParser()
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--batches", type=int, default=5)
    return p.parse_args()


def main(args):
    torch.manual_seed(0)
    gen = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.ReLU(), torch.nn.Linear(8, 4))
    disc = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.LeakyReLU(0.2), torch.nn.Linear(8, 1))
    opt_d = torch.optim.Adam(disc.parameters(), lr=4e-4, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(gen.parameters(), lr=1e-4, betas=(0.5, 0.999))
    sched_d = torch.optim.lr_scheduler.ExponentialLR(opt_d, gamma=0.97)
    sched_g = torch.optim.lr_scheduler.StepLR(opt_g, step_size=2, gamma=0.5)
    bce = torch.nn.BCEWithLogitsLoss()
    for _ in range(args.epochs):
        for _ in range(args.batches):
            real, z = torch.randn(8, 4), torch.randn(8, 3)
            fake = gen(z)
            loss_d = bce(disc(real), torch.ones(8, 1)) + bce(disc(fake.detach()), torch.zeros(8, 1))
            opt_d.zero_grad()
            loss_d.backward()
            opt_d.step()
            sched_d.step()
            loss_g = bce(disc(fake), torch.ones(8, 1))
            opt_g.zero_grad()
            loss_g.backward()
            opt_g.step()
        sched_g.step()
    print("done")


if __name__ == "__main__":
    main(get_args())
