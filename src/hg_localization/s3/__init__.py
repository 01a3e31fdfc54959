"""The team bucket: an S3 (or S3-compatible) bucket shared as the team's cache, and a public share.

One concept per module::

    keys.py           the key layout (drawn there) and the checks on keys read back from a bucket
    client.py         botocore clients from the configuration: signed (config keys or the AWS
                      chain) or anonymous, their data read for S3 only; the transfer settings;
                      listings page by page
    errors.py         the one place boto3/botocore/s3transfer errors become StorageError
    bucket.py         the few bucket operations the rest needs, errors translated
    push_plan.py      pure: plan a push (what to upload or copy, what the metadata must say)
    push.py           apply a plan: data first, metadata object last, then the index
    fetch.py          read a revision back into a staging folder, every file verified
    catalog.py        metadata objects and the private index (one object per revision)
    public.py         bucket policy on the public prefix; the public index (conditional writes)
    public_reader.py  anonymous HTTP reads from the public URL
    team_cache.py     open_team_cache(config, store_of): the bucket (BucketCache) or the public URL
                      (PublicCache) as the TeamCache that localize() asks and fills
    transfers.py      transfer items, the reader that hashes what it uploads
    managed.py        boto3's transfer manager for copies and downloads (imported only then)
    multipart.py      big uploads in parts, resumed after a killed run
    serving.py        the bucket as a server's source (``serve --source bucket``)
    lease.py          one upstream fetch of a file across server replicas
    withdraw.py       unpublish or delete a revision in the bucket
"""
