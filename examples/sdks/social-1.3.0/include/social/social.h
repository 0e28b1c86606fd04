#ifndef ACME_SOCIAL_H
#define ACME_SOCIAL_H
/* Acme Social: share a link; returns the number of shares so far. */
int social_share(const char *url);
#endif
