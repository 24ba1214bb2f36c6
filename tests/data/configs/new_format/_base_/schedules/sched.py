from mmengine.optim.scheduler.lr_scheduler import LinearLR, MultiStepLR
from torch.optim.sgd import SGD
from mmengine.optim import OptimWrapper

optim_wrapper = dict(type=OptimWrapper, optimizer=dict(type=SGD, lr=0.02, momentum=0.9, weight_decay=0.0001))
max_epochs = 12
param_scheduler = [dict(type=LinearLR, start_factor=0.001, by_epoch=False, begin=0, end=500),
                   dict(type=MultiStepLR, begin=0, end=max_epochs, by_epoch=True, milestones=[8, 11], gamma=0.1)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=1)
