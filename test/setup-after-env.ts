// aws-sdk-client-mock's matchers (toHaveReceivedCommandWith ...) on Jest's expect.
import 'aws-sdk-client-mock-jest';
