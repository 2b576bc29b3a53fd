"""Development aids: launcher, embedded Redis, demo data, the WeChat API sandbox, /dev/chat."""
