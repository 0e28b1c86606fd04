#ifndef ACME_ANALYTICS_H
#define ACME_ANALYTICS_H
/* Acme Analytics 6: count named events. */
int analytics_track(const char *event);
int analytics_version_major(void);
#endif
