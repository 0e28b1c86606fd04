#include "analytics/analytics.h"

static int tracked;

int analytics_track(const char *event) { return event ? ++tracked : tracked; }
int analytics_version_major(void) { return 6; }
