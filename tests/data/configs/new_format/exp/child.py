from mmengine.config import read_base

with read_base():
    from .._base_.schedules.sched import *

from mmengine.optim.scheduler import CosineAnnealingLR

max_epochs = 24
train_cfg.update(max_epochs=max_epochs)
param_scheduler[1] = dict(type=CosineAnnealingLR, T_max=max_epochs, by_epoch=True, begin=0, end=max_epochs)
optim_wrapper.update(dict(optimizer=dict(lr=0.01)))
optim_wrapper.merge(dict(optimizer=dict(momentum=0.95), clip_grad=dict(max_norm=35)))
