export { useLocationPath } from '@wispanel/ui';
