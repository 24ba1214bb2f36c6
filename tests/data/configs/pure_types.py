from mmengine.optim import CosineAnnealingLR, LinearLR
from torch.optim import SGD

optim_wrapper = dict(optimizer=dict(type=SGD, lr=0.1, momentum=0.9))
param_scheduler = [
    dict(type=LinearLR, start_factor=0.1, by_epoch=False, end=100),
    dict(type=CosineAnnealingLR, by_epoch=False, begin=100, end=1000, eta_min_ratio=0.01),
]
train_cfg = dict(by_epoch=False, max_iters=1000)
