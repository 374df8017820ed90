console.log('portal cli', process.argv.slice(2));
