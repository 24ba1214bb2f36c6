dataset_type = 'CocoDataset'
data_root = 'data/coco/'
train_dataloader = dict(batch_size=2, num_workers=2, dataset=dict(type=dataset_type, data_root=data_root))
