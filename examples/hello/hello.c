#include <stdio.h>

int main(void) {
	printf("hello docker\n");
	return 0;
}
