_base_ = ['./base.py']
import copy  # noqa: E402

scales = [(640, 640), (320, 320), (960, 960)]
tta_pipeline = [dict(type='TestTimeAug', transforms=[[dict(type='Resize', scale=s, keep_ratio=True) for s in scales],
                                                      [dict(type='RandomFlip', prob=p) for p in (1.0, 0.0)]])]
names = {f'layer{i}': dict(lr_mult=round(0.8 ** (4 - i), 4)) for i in range(4)}
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={**names, 'head': dict(lr_mult=10.0)}))
max_epochs = 4 * 3
warm = min(500, sum(len(s) for s in scales) * 100)
param_scheduler = [dict(type='LinearLR', start_factor=1.0 / 3 if warm > 10 else 0.1, by_epoch=False, end=warm),
                   dict(type='MultiStepLR', by_epoch=True, milestones=[max_epochs - 4, max_epochs - 1][:2],
                        end=max_epochs)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max(1, max_epochs // 4))
mean = [123.675, 116.28, 103.53][::-1]
pipe2 = copy.deepcopy(_base_.pipeline)
pipe2[1]['scale'] = (640, 640)
_base_.train_dataloader.dataset.pipeline = pipe2
pipe2[1]['scale'] = (1, 1)  # after the assignment: the list was copied, its ConfigDicts not
detector = _base_.model
detector.backbone.update(dict(depth=101))
_base_.model.head.update(num_classes=len(scales) * 10)
del _base_.tta_model
name = 'x_{}_{}'.format(len(mean), '-'.join(str(int(m)) for m in mean)).upper()
work_dir = f'./work_dirs/{{fileBasenameNoExtension}}_{max_epochs:03d}'
if __name__ == '__main__':
    param_scheduler = []
import os  # noqa: E402
os.system('echo never run')
